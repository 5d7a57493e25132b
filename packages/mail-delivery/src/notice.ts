/**
 * The new-mail notice: the one record that travels from the store that committed a message
 * (through smtp or pop3's XSEND, `mail.delivered`) via biff (`mail.notify`) to the POP3 session
 * waiting for it, and the one check every receiver applies to it.
 *
 * The check is a hand-written guard rather than a zod schema because it runs on the hot path of
 * every push (a delivery to thousands of users is checked once in biff and once in pop3): zod
 * measured 2.5-3 µs per notice here, this guard a small fraction of that, and it returns the
 * very object it was given when that is already canonical (no copy on the way through).
 */

/** A message committed to a Hearth maildrop: the store's delivery result, announced as it is. */
export interface HearthNotice {
  readonly source: 'hearth';
  /** The canonical (lower case) user name. */
  readonly user: string;
  /** Always `INBOX` for the store; receivers that serve only the inbox ignore other names. */
  readonly maildrop: string;
  /** The store's message id (`openBody(messageId)` reads it); at least 1. */
  readonly messageId: number;
  /** Per-maildrop UID: arrival order, never reused; at least 1. */
  readonly uid: number;
  /** The POP3 UIDL (RFC 1939): 1 to 70 characters in 0x21..0x7E. */
  readonly uidl: string;
  /** Octets stored (trace headers included). */
  readonly size: number;
}

/** A comsat datagram's news: something arrived for `user`, no message named (read the index). */
export interface ComsatNotice {
  readonly source: 'comsat';
  readonly user: string;
  /** `INBOX` for the system mailbox, else the folder as the sender wrote it. */
  readonly maildrop: string;
}

/** The payload of `mail.delivered` and `mail.notify` (alone or in a batch). */
export type NewMail = HearthNotice | ComsatNotice;

/**
 * A payload of `mail.delivered` or `mail.notify` is either one notice or `{ batch: [notice, ...] }`
 * of at most MAX_BATCH: a delivery to many users, or many notices for one subscriber, travel as
 * one bus message (one IPC hop instead of thousands). Receivers accept both shapes.
 */
export interface Batch<T> {
  readonly batch: readonly T[];
}

/** The most notices one batched message carries. */
export const MAX_BATCH = 1000;

/** The name rule of Hearth users (the store's: letters, digits, `.`, `_`, `-`), any case here. */
const USER_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/i;
const UIDL = /^[\x21-\x7e]{1,70}$/;

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** `name` as a Hearth user name (lower case), or undefined when no Hearth user can have it. */
export function hearthUser(name: string): string | undefined {
  if (!USER_NAME.test(name) || name.endsWith('.') || name.includes('..')) return undefined;
  return name.toLowerCase();
}

/**
 * `value` as a new-mail notice, or undefined when it is not one (the caller counts and logs it).
 * The user name is given back in lower case: the same object when it already was.
 */
export function newMailOf(value: unknown): NewMail | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  const { source, user: name, maildrop } = v;
  if (typeof name !== 'string' || typeof maildrop !== 'string') return undefined;
  if (maildrop.length === 0) return undefined;
  const user = hearthUser(name);
  if (user === undefined) return undefined;
  let notice: NewMail;
  if (source === 'hearth') {
    const { messageId, uid, uidl, size } = v;
    if (!isCount(messageId) || messageId === 0 || !isCount(uid) || uid === 0 || !isCount(size)) return undefined;
    if (typeof uidl !== 'string' || !UIDL.test(uidl)) return undefined;
    notice = value as HearthNotice;
  } else if (source === 'comsat') {
    notice = value as ComsatNotice;
  } else {
    return undefined;
  }
  return user === name ? notice : { ...notice, user };
}

/** What a payload held: the notices that passed the check, and how many entries did not. */
export interface ReadNotices {
  readonly notices: readonly NewMail[];
  readonly rejected: number;
}

/**
 * The notices of a `mail.delivered` or `mail.notify` payload (one, or a batch's), each checked
 * with `newMailOf`: a bad entry costs only itself. A `batch` that is not a list counts as one.
 */
export function readNotices(payload: unknown): ReadNotices {
  const batch = payload !== null && typeof payload === 'object' ? (payload as { batch?: unknown }).batch : undefined;
  if (batch === undefined) {
    const one = newMailOf(payload);
    return one === undefined ? { notices: [], rejected: 1 } : { notices: [one], rejected: 0 };
  }
  if (!Array.isArray(batch)) return { notices: [], rejected: 1 };
  const notices: NewMail[] = [];
  for (const entry of batch) {
    const notice = newMailOf(entry);
    if (notice !== undefined) notices.push(notice);
  }
  return { notices, rejected: batch.length - notices.length };
}

/** `notices` as payloads of at most MAX_BATCH notices each: a lone notice travels as it is. */
export function* batches<T>(notices: readonly T[]): Generator<T | Batch<T>> {
  if (notices.length === 1) {
    yield notices[0]!;
    return;
  }
  for (let at = 0; at < notices.length; at += MAX_BATCH) yield { batch: notices.slice(at, at + MAX_BATCH) };
}
