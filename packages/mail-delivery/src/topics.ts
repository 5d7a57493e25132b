/**
 * The mail topics of the supervisor's message bus (docs/ARCHITECTURE.md, "Mail notifications"):
 * the one copy smtp, pop3 and biff all build against. The new-mail payload is in notice.ts.
 */
import { hearthUser } from './notice.js';

export const MAIL_TOPICS = {
  /** smtp and pop3 (XSEND) publish it after the store committed; biff subscribes. A NewMail or a Batch. */
  delivered: 'mail.delivered',
  /** biff -> each service subscribed for that user (by name): the NewMail as it arrived, or a Batch. */
  notify: 'mail.notify',
  /** a subscriber -> `biff` (by name): `{ user, instance }`. */
  subscribe: 'biff.subscribe',
  unsubscribe: 'biff.unsubscribe',
  /**
   * biff -> the subscribing service (by name), once it holds the subscription: `{ user, instance }`.
   * Mail committed while the subscription was on its way had no subscriber to go to: the
   * subscriber reads that user's maildrop again.
   */
  subscribed: 'biff.subscribed',
  /** a subscriber -> `biff`, at its start: `{ instance }`, forget that instance's subscriptions. */
  reset: 'biff.reset',
  /** biff publishes it at start, `{ instance }`: subscribers send their subscriptions again. */
  started: 'biff.started',
} as const;

/** The service subscribers address their subscriptions to. */
export const BIFF_SERVICE = 'biff';

/** `biff.subscribe` / `biff.unsubscribe` / `biff.subscribed`: `instance` is the subscriber's pid. */
export interface BiffSubscription {
  readonly user: string;
  readonly instance: number;
}

/** The `{ user, instance }` of a subscription message (the user's Hearth name), or undefined. */
export function subscriptionOf(payload: unknown): BiffSubscription | undefined {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
  const { user, instance } = payload as Record<string, unknown>;
  const name = typeof user === 'string' ? hearthUser(user) : undefined;
  if (!name || typeof instance !== 'number' || !Number.isSafeInteger(instance) || instance <= 0) return undefined;
  return { user: name, instance };
}
