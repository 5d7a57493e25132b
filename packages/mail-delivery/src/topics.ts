/**
 * The mail topics of the supervisor's message bus and their payloads (docs/ARCHITECTURE.md,
 * "Mail notifications"): the one copy smtp, pop3 and biff all build against.
 */

export const MAIL_TOPICS = {
  /** smtp and pop3 (XSEND) publish it after the store committed; biff subscribes. */
  delivered: 'mail.delivered',
  /** biff -> each service subscribed for that user (by name). */
  notify: 'mail.notify',
  /** a subscriber -> `biff` (by name): `{ user, instance }`. */
  subscribe: 'biff.subscribe',
  unsubscribe: 'biff.unsubscribe',
  /** a subscriber -> `biff`, at its start: `{ instance }`, forget that instance's subscriptions. */
  reset: 'biff.reset',
  /** biff publishes it at start, `{ instance }`: subscribers send their subscriptions again. */
  started: 'biff.started',
} as const;

/** The service subscribers address their subscriptions to. */
export const BIFF_SERVICE = 'biff';

/** `mail.delivered`: one stored copy of a message, in one user's maildrop. */
export interface MailDelivered {
  readonly user: string;
  readonly maildrop: string;
  /** The store's message id: `openBody(messageId)` reads it. */
  readonly messageId: number;
  readonly uid: number;
  readonly uidl: string;
  readonly size: number;
}

/** `mail.notify`: something arrived for `user`; a comsat notice names no message. */
export interface MailNotify {
  readonly user: string;
  readonly maildrop: string;
  readonly messageId?: number;
  readonly uid?: number;
  readonly uidl?: string;
  readonly size?: number;
  readonly source: 'hearth' | 'comsat';
}

/** `biff.subscribe` / `biff.unsubscribe`: `instance` is the subscriber's pid. */
export interface BiffSubscription {
  readonly user: string;
  readonly instance: number;
}

/**
 * A payload of `mail.delivered` or `mail.notify` is either one event or `{ batch: [event, ...] }`:
 * a delivery to many users, or many notices for one subscriber, travel as one bus message (one
 * IPC hop instead of thousands). Receivers accept both shapes.
 */
export interface Batch<T> {
  readonly batch: readonly T[];
}

/** The most events one batched message carries. */
export const MAX_BATCH = 1000;

/** `payload` as the list of events it carries: one, or a batch's. */
export function unbatch(payload: unknown): readonly unknown[] {
  if (payload !== null && typeof payload === 'object' && Array.isArray((payload as { batch?: unknown }).batch)) {
    return (payload as { batch: unknown[] }).batch;
  }
  return [payload];
}

/** `events` as payloads of at most MAX_BATCH events each: a lone event stays as it is. */
export function* batches<T>(events: readonly T[]): Generator<T | Batch<T>> {
  if (events.length === 1) {
    yield events[0]!;
    return;
  }
  for (let at = 0; at < events.length; at += MAX_BATCH) yield { batch: events.slice(at, at + MAX_BATCH) };
}
