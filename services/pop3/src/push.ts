/**
 * New-mail notifications for XIDLE (Hearth's push extension) within this process: which users
 * have a waiting session, the biff subscriptions that bring their `mail.notify` messages, and the
 * wake-up of exactly those sessions. Topics are pinned in docs/ARCHITECTURE.md ("Mail
 * notifications"); the payload and its one check are @hearth/mail-delivery's NewMail and
 * `readNotices`. Without a bus (tests, tools) only this process's own deliveries wake.
 */
import type { Logger } from '@hearth/log';
import { announceDelivered, BIFF_SERVICE, MAIL_TOPICS, readNotices, subscriptionOf, type HearthNotice } from '@hearth/mail-delivery';
import type { CounterSet } from '@hearth/metrics';
import type { MessageBus } from '@hearth/runtime';
import type { counters as pop3Counters } from './counters.js';

export { BIFF_SERVICE };
export const topics = MAIL_TOPICS;

/**
 * A waiting session: push what is new. `notice` (a 'hearth' notice about INBOX) may spare the
 * index read; without it, or in doubt, the session re-reads its maildrop's index.
 */
export interface Waiter {
  wake(notice?: HearthNotice): void;
}

/**
 * A subscription biff has not confirmed is sent again `RESUBSCRIBE_FIRST_MS` after it was sent,
 * then after twice as long each time, at most every `RESUBSCRIBE_MAX_MS`.
 */
const RESUBSCRIBE_FIRST_MS = 5_000;
const RESUBSCRIBE_MAX_MS = 60_000;

/** A subscription sent and not confirmed yet: when to send it again, and after how long then. */
interface Unconfirmed {
  due: number;
  delay: number;
  attempts: number;
}

export class PushHub {
  private readonly waiting = new Map<string, Set<Waiter>>();
  private started = false;
  private rejectedCount = 0;
  /** Waiting sessions, all users together (the `pushWaiting` gauge). */
  private waiters = 0;
  /** Users whose subscription biff has not confirmed (`biff.subscribed`) since it was last sent. */
  private readonly unconfirmed = new Map<string, Unconfirmed>();
  private retryTimer: { timer: NodeJS.Timeout; at: number } | undefined;

  constructor(
    private readonly bus: MessageBus | undefined,
    private readonly log: Logger,
    private readonly instance: number = process.pid,
    private readonly counters?: CounterSet<typeof pop3Counters>,
  ) {}

  /**
   * Listen for `mail.notify`, tell biff to forget whatever an earlier instance subscribed, and
   * subscribe again whenever biff (re)starts: its subscriptions live in its memory only. When
   * biff confirms a subscription (`biff.subscribed`), the user's sessions read their index again:
   * mail committed after their last read and before biff held the subscription (a session that
   * just began waiting, or biff restarting) had no notice sent to this process. A subscription
   * not confirmed in time (dropped on the way, or refused at one of biff's limits) is sent again
   * (`RESUBSCRIBE_FIRST_MS`) for as long as the user has a waiting session here.
   */
  start(): void {
    if (this.started || this.bus === undefined) return;
    this.started = true;
    this.bus.on(topics.notify, (payload, from) => this.onNotify(payload, from));
    this.bus.on(topics.subscribed, (payload) => this.onSubscribed(payload));
    this.bus.on(topics.started, () => this.resubscribe());
    this.post(topics.reset, { instance: this.instance });
  }

  /** No more subscriptions sent again (the server stopped). */
  stop(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer.timer);
    this.retryTimer = undefined;
    this.unconfirmed.clear();
  }

  /** biff started afresh: send it every user this process is waiting for. */
  private resubscribe(): void {
    this.log.info({ users: this.waiting.size }, 'biff started: subscribing again');
    this.post(topics.reset, { instance: this.instance });
    this.unconfirmed.clear();
    for (const user of this.waiting.keys()) this.subscribe(user);
  }

  /** Subscribe for `user`, and send it again until biff confirms it. */
  private subscribe(user: string): void {
    if (this.bus === undefined) return;
    this.post(topics.subscribe, { user, instance: this.instance });
    const entry = { due: Date.now() + RESUBSCRIBE_FIRST_MS, delay: RESUBSCRIBE_FIRST_MS, attempts: 0 };
    this.unconfirmed.set(user, entry);
    this.armRetry(entry.due);
  }

  /** The retry pass runs at `at` at the latest. */
  private armRetry(at: number): void {
    if (this.retryTimer !== undefined) {
      if (this.retryTimer.at <= at) return;
      clearTimeout(this.retryTimer.timer);
    }
    const timer = setTimeout(() => this.retryUnconfirmed(), Math.max(0, at - Date.now()));
    timer.unref();
    this.retryTimer = { timer, at };
  }

  /**
   * Sends again each subscription due: unsubscribe, then subscribe, so that biff holds it once
   * whether or not it had it (its table counts subscriptions; the two go in this order on one
   * channel). Its confirmation sends the user's sessions to their index.
   */
  private retryUnconfirmed(): void {
    this.retryTimer = undefined;
    const now = Date.now();
    let next = Infinity;
    for (const [user, entry] of this.unconfirmed) {
      if (entry.due <= now) {
        entry.attempts++;
        const fields = { user, attempts: entry.attempts, waitedMs: entry.delay };
        if (entry.attempts === 1) this.log.info(fields, 'biff has not confirmed the subscription: sending it again');
        else this.log.debug(fields, 'biff has not confirmed the subscription: sending it again');
        this.post(topics.unsubscribe, { user, instance: this.instance });
        this.post(topics.subscribe, { user, instance: this.instance });
        entry.delay = Math.min(entry.delay * 2, RESUBSCRIBE_MAX_MS);
        entry.due = now + entry.delay;
      }
      next = Math.min(next, entry.due);
    }
    if (next !== Infinity) this.armRetry(next);
  }

  /** `mail.notify` entries that failed the new-mail check (`readNotices`), ignored. */
  get rejected(): number {
    return this.rejectedCount;
  }

  /** Users with at least one waiting session (for status and tests). */
  get users(): readonly string[] {
    return [...this.waiting.keys()];
  }

  add(user: string, waiter: Waiter): void {
    const key = user.toLowerCase();
    const set = this.waiting.get(key);
    if (set !== undefined) {
      if (!set.has(waiter)) this.count(+1);
      set.add(waiter);
      return;
    }
    this.count(+1);
    this.waiting.set(key, new Set([waiter]));
    this.subscribe(key);
  }

  remove(user: string, waiter: Waiter): void {
    const key = user.toLowerCase();
    const set = this.waiting.get(key);
    if (set === undefined || !set.delete(waiter)) return;
    this.count(-1);
    if (set.size > 0) return;
    this.waiting.delete(key);
    this.unconfirmed.delete(key);
    this.post(topics.unsubscribe, { user: key, instance: this.instance });
  }

  private count(delta: number): void {
    this.waiters += delta;
    this.counters?.set('pushWaiting', this.waiters);
  }

  /** New mail for `user` (any source): wake its waiting sessions in this process, and only those. */
  wake(user: string, notice?: HearthNotice): void {
    const set = this.waiting.get(user.toLowerCase());
    if (set === undefined) return;
    // A wake may end its session (and leave the set): a set iterator skips what was deleted.
    for (const waiter of set) waiter.wake(notice);
  }

  /**
   * This process stored `copies` (XSEND): announce them exactly as SMTP does (one call, batched),
   * and wake local waiters at once.
   */
  delivered(copies: readonly HearthNotice[]): void {
    if (this.bus !== undefined) announceDelivered(this.bus, this.log, copies);
    for (const copy of copies) this.wake(copy.user, copy);
  }

  /** `mail.notify`: one notice, or a batch of them (one per user, for many users at once). */
  private onNotify(payload: unknown, from: string): void {
    const { notices, rejected } = readNotices(payload);
    if (rejected > 0) {
      this.rejectedCount += rejected;
      this.log.warn({ from, rejected, total: this.rejectedCount }, 'malformed mail.notify ignored');
    }
    for (const notice of notices) {
      this.log.debug({ user: notice.user, source: notice.source, from }, 'mail.notify');
      // Only a 'hearth' notice about INBOX names a message this service serves; anything else
      // wakes the sessions to re-read their index.
      this.wake(notice.user, notice.source === 'hearth' && notice.maildrop === 'INBOX' ? notice : undefined);
    }
  }

  /** `biff.subscribed`: for this instance, the user's sessions read their index; another's is ignored. */
  private onSubscribed(payload: unknown): void {
    const sub = subscriptionOf(payload);
    if (sub === undefined) {
      this.log.warn({ topic: topics.subscribed }, 'malformed subscription confirmation ignored');
      return;
    }
    if (sub.instance !== this.instance) return;
    this.log.debug({ user: sub.user }, 'subscription confirmed by biff');
    this.unconfirmed.delete(sub.user.toLowerCase());
    this.wake(sub.user);
  }

  private post(topic: string, payload: unknown): void {
    if (this.bus === undefined) return;
    try {
      if (!this.bus.send(BIFF_SERVICE, topic, payload)) this.log.debug({ topic }, 'message to biff dropped');
    } catch (error) {
      this.log.warn({ err: error, topic }, 'message to biff failed');
    }
  }
}
