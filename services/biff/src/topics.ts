/**
 * The bus topics biff speaks (docs/ARCHITECTURE.md, "Mail notifications") and the checks applied
 * to the subscription messages (anything else is counted as a bad message and ignored). New-mail
 * payloads are checked by @hearth/mail-delivery's `readNotices`.
 */
import { hearthUser, MAIL_TOPICS } from '@hearth/mail-delivery';

export const TOPICS = MAIL_TOPICS;

type Fields = Record<string, unknown>;

function record(payload: unknown): Fields | undefined {
  return payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Fields) : undefined;
}

/** `{ user, instance }` of biff.subscribe / biff.unsubscribe. */
export function subscriptionOf(payload: unknown): { user: string; instance: number } | undefined {
  const p = record(payload);
  const instance = p?.['instance'];
  const user = typeof p?.['user'] === 'string' ? hearthUser(p['user']) : undefined;
  if (!user || typeof instance !== 'number' || !Number.isSafeInteger(instance) || instance <= 0) return undefined;
  return { user, instance };
}

/** `{ instance }` of biff.reset. */
export function instanceOf(payload: unknown): number | undefined {
  const instance = record(payload)?.['instance'];
  return typeof instance === 'number' && Number.isSafeInteger(instance) && instance > 0 ? instance : undefined;
}
