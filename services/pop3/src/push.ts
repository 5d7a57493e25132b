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

export class PushHub {
  private readonly waiting = new Map<string, Set<Waiter>>();
  private started = false;
  private rejectedCount = 0;
  /** Waiting sessions, all users together (the `pushWaiting` gauge). */
  private waiters = 0;

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
   * just began waiting, or biff restarting) had no notice sent to this process.
   */
  start(): void {
    if (this.started || this.bus === undefined) return;
    this.started = true;
    this.bus.on(topics.notify, (payload, from) => this.onNotify(payload, from));
    this.bus.on(topics.subscribed, (payload) => this.onSubscribed(payload));
    this.bus.on(topics.started, () => this.resubscribe());
    this.post(topics.reset, { instance: this.instance });
  }

  /** biff started afresh: send it every user this process is waiting for. */
  private resubscribe(): void {
    this.log.info({ users: this.waiting.size }, 'biff started: subscribing again');
    this.post(topics.reset, { instance: this.instance });
    for (const user of this.waiting.keys()) this.post(topics.subscribe, { user, instance: this.instance });
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
    this.post(topics.subscribe, { user: key, instance: this.instance });
  }

  remove(user: string, waiter: Waiter): void {
    const key = user.toLowerCase();
    const set = this.waiting.get(key);
    if (set === undefined || !set.delete(waiter)) return;
    this.count(-1);
    if (set.size > 0) return;
    this.waiting.delete(key);
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
