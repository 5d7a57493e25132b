/**
 * The bus topics biff speaks (docs/ARCHITECTURE.md, "Mail notifications"), their payloads, and
 * the checks applied to what arrives (anything else is counted as a bad message and ignored).
 */
import { MAIL_TOPICS, type MailDelivered, type MailNotify } from '@hearth/mail-delivery';
import { hearthUser } from './comsat.js';

export const TOPICS = MAIL_TOPICS;
export type { MailDelivered, MailNotify };

type Fields = Record<string, unknown>;

function record(payload: unknown): Fields | undefined {
  return payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Fields) : undefined;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** A `mail.delivered` payload as a `mail.notify` one, or undefined when it is not usable. */
export function notifyFromDelivered(payload: unknown): MailNotify | undefined {
  const p = record(payload);
  const user = typeof p?.['user'] === 'string' ? hearthUser(p['user']) : undefined;
  if (!p || !user) return undefined;
  const maildrop = typeof p['maildrop'] === 'string' && p['maildrop'] !== '' ? p['maildrop'] : 'INBOX';
  const { messageId, uid, uidl, size } = p;
  if (isCount(messageId) && isCount(uid) && typeof uidl === 'string' && isCount(size)) {
    // What smtp and pop3 send: one object shape for all (a fan-out handles thousands of these).
    return { user, maildrop, messageId, uid, uidl, size, source: 'hearth' };
  }
  return {
    user,
    maildrop,
    ...(isCount(p['messageId']) ? { messageId: p['messageId'] } : {}),
    ...(isCount(p['uid']) ? { uid: p['uid'] } : {}),
    ...(typeof p['uidl'] === 'string' ? { uidl: p['uidl'] } : {}),
    ...(isCount(p['size']) ? { size: p['size'] } : {}),
    source: 'hearth',
  };
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
