/**
 * The bus topics biff speaks (docs/ARCHITECTURE.md, "Mail notifications") and the checks applied
 * to the subscription messages (anything else is counted as a bad message and ignored): a
 * subscription's is @hearth/mail-delivery's `subscriptionOf`, which its subscribers use too.
 * New-mail payloads are checked by @hearth/mail-delivery's `readNotices`.
 */
import { MAIL_TOPICS } from '@hearth/mail-delivery';

export const TOPICS = MAIL_TOPICS;

type Fields = Record<string, unknown>;

function record(payload: unknown): Fields | undefined {
  return payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Fields) : undefined;
}

/** `{ instance }` of biff.reset. */
export function instanceOf(payload: unknown): number | undefined {
  const instance = record(payload)?.['instance'];
  return typeof instance === 'number' && Number.isSafeInteger(instance) && instance > 0 ? instance : undefined;
}
