/**
 * New-mail notifications for XIDLE (Hearth's push extension) within this process: which users
 * have a waiting session, the biff subscriptions that bring their `mail.notify` messages, and the
 * wake-up of exactly those sessions. Topics and payloads are pinned in docs/ARCHITECTURE.md
 * ("Mail notifications"). Without a bus (tests, tools) only this process's own deliveries wake.
 */
import type { Logger } from '@hearth/log';
import { announceDelivered, BIFF_SERVICE, MAIL_TOPICS, unbatch } from '@hearth/mail-delivery';
import type { MessageBus } from '@hearth/runtime';
import type { DeliveredCopy, NoticedMessage } from './maildrop.js';

export { BIFF_SERVICE };
export const topics = MAIL_TOPICS;

/**
 * A waiting session: push what is new. `notice` (when the news names its message completely) may
 * spare the index read; without it, or in doubt, the session re-reads its maildrop's index.
 */
export interface Waiter {
  wake(notice?: NoticedMessage): void;
}

const UIDL = /^[\x21-\x7e]{1,70}$/;
const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The message a `mail.notify` names, if it is a complete 'hearth' notice about INBOX. */
export function noticedMessage(notice: unknown): NoticedMessage | undefined {
  if (typeof notice !== 'object' || notice === null) return undefined;
  const n = notice as Record<string, unknown>;
  const { messageId, uid, uidl, size } = n;
  if (n['source'] !== 'hearth' || (n['maildrop'] !== undefined && n['maildrop'] !== 'INBOX')) return undefined;
  if (!count(messageId) || messageId === 0 || !count(uid) || uid === 0 || !count(size)) return undefined;
  if (typeof uidl !== 'string' || !UIDL.test(uidl)) return undefined;
  return { messageId, uid, uidl, size };
}

export class PushHub {
  private readonly waiting = new Map<string, Set<Waiter>>();
  private started = false;

  constructor(
    private readonly bus: MessageBus | undefined,
    private readonly log: Logger,
    private readonly instance: number = process.pid,
  ) {}

  /**
   * Listen for `mail.notify`, tell biff to forget whatever an earlier instance subscribed, and
   * subscribe again whenever biff (re)starts: its subscriptions live in its memory only.
   */
  start(): void {
    if (this.started || this.bus === undefined) return;
    this.started = true;
    this.bus.on(topics.notify, (payload, from) => this.onNotify(payload, from));
    this.bus.on(topics.started, () => this.resubscribe());
    this.post(topics.reset, { instance: this.instance });
  }

  /** biff started afresh: send it every user this process is waiting for. */
  private resubscribe(): void {
    this.log.info({ users: this.waiting.size }, 'biff started: subscribing again');
    this.post(topics.reset, { instance: this.instance });
    for (const user of this.waiting.keys()) this.post(topics.subscribe, { user, instance: this.instance });
  }

  /** Users with at least one waiting session (for status and tests). */
  get users(): readonly string[] {
    return [...this.waiting.keys()];
  }

  add(user: string, waiter: Waiter): void {
    const key = user.toLowerCase();
    const set = this.waiting.get(key);
    if (set !== undefined) {
      set.add(waiter);
      return;
    }
    this.waiting.set(key, new Set([waiter]));
    this.post(topics.subscribe, { user: key, instance: this.instance });
  }

  remove(user: string, waiter: Waiter): void {
    const key = user.toLowerCase();
    const set = this.waiting.get(key);
    if (set === undefined || !set.delete(waiter) || set.size > 0) return;
    this.waiting.delete(key);
    this.post(topics.unsubscribe, { user: key, instance: this.instance });
  }

  /** New mail for `user` (any source): wake its waiting sessions in this process, and only those. */
  wake(user: string, notice?: NoticedMessage): void {
    const set = this.waiting.get(user.toLowerCase());
    if (set === undefined) return;
    // A wake may end its session (and leave the set): a set iterator skips what was deleted.
    for (const waiter of set) waiter.wake(notice);
  }

  /** This process stored `copy` (XSEND): announce it like SMTP does, and wake local waiters at once. */
  delivered(copy: DeliveredCopy): void {
    if (this.bus !== undefined) announceDelivered(this.bus, this.log, [copy]);
    this.wake(copy.user, copy);
  }

  /** `mail.notify`: one notice, or a batch of them (one per user, for many users at once). */
  private onNotify(payload: unknown, from: string): void {
    for (const notice of unbatch(payload)) {
      const user = typeof notice === 'object' && notice !== null ? (notice as { user?: unknown }).user : undefined;
      if (typeof user !== 'string' || user === '') {
        this.log.warn({ from }, 'mail.notify without a user ignored');
        continue;
      }
      this.log.debug({ user, from }, 'mail.notify');
      this.wake(user, noticedMessage(notice));
    }
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
