/**
 * The comsat datagram, read the way BSD comsat reads it (FreeBSD and NetBSD libexec/comsat):
 *
 *   recv at most 255 bytes; the text ends at the first NUL;
 *   user    everything before the first `@`
 *   offset  decimal digits after the `@` (the mailbox's size before the delivery; empty for Maildir)
 *   mailbox optional, after the first `:` that follows the `@`: a name or an absolute folder path
 *
 * What senders write (see the tests): Postfix local(8) `alice@12345` + NUL; mail.local
 * `alice@12345\n` + NUL; procmail `alice@12345:/home/alice/Mail/lists`, and `alice@:/home/alice/Maildir/`
 * for a Maildir (no offset). A trailing newline is trimmed.
 *
 * Where BSD is lenient we are strict, so a garbled datagram is counted as malformed instead of being
 * half-read: the offset must be digits only (strtoll would stop at the first non-digit), control
 * characters are refused, and a datagram whose text does not fit in the bytes read is oversized
 * (truncating it could name a different user or folder).
 */

export interface ComsatDatagram {
  /** As written by the sender (not normalized). */
  readonly user: string;
  /** Byte offset of the new message in an mbox; undefined when empty (Maildir). */
  readonly offset: number | undefined;
  /** The `:mailbox` part, undefined when absent. */
  readonly mailbox: string | undefined;
}

export type ComsatParse =
  | { readonly ok: true; readonly notice: ComsatDatagram }
  | { readonly ok: false; readonly reason: 'oversized' | 'malformed'; readonly detail: string };

/** What classic comsat reads of a datagram (`char msgbuf[256]; recv(..., sizeof msgbuf - 1)`). */
export const CLASSIC_DATAGRAM_BYTES = 255;

const OFFSET = /^\d{0,19}$/;
// C0 controls and DEL; the trailing newline is trimmed before this check.
const CONTROL = /[\u0000-\u001f\u007f]/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function malformed(detail: string): ComsatParse {
  return { ok: false, reason: 'malformed', detail };
}

/** Parse one datagram; `maxBytes` is how much of it is read (255 as in BSD comsat). */
export function parseComsat(data: Uint8Array, maxBytes = CLASSIC_DATAGRAM_BYTES): ComsatParse {
  const read = data.subarray(0, maxBytes);
  const nul = read.indexOf(0);
  if (nul < 0 && data.length > maxBytes) {
    return { ok: false, reason: 'oversized', detail: `no end of text within ${maxBytes} bytes (${data.length} sent)` };
  }
  let text: string;
  try {
    text = utf8.decode(nul < 0 ? read : read.subarray(0, nul));
  } catch {
    return malformed('not UTF-8');
  }
  text = text.replace(/\r?\n$/, '');
  if (CONTROL.test(text)) return malformed('control character');
  const at = text.indexOf('@');
  if (at < 0) return malformed('no "@"');
  const user = text.slice(0, at);
  if (user.length === 0) return malformed('empty user');
  const rest = text.slice(at + 1);
  const colon = rest.indexOf(':');
  const offsetText = colon < 0 ? rest : rest.slice(0, colon);
  if (!OFFSET.test(offsetText)) return malformed('offset is not a decimal number');
  const offset = offsetText === '' ? undefined : Number(offsetText);
  if (offset !== undefined && !Number.isSafeInteger(offset)) return malformed('offset out of range');
  const mailbox = colon < 0 ? undefined : rest.slice(colon + 1);
  if (mailbox === '') return malformed('empty mailbox after ":"');
  return { ok: true, notice: { user, offset, mailbox } };
}

/** The spool directories a system mailbox lives in: `:/var/mail/alice` means the inbox. */
const SPOOLS = ['/var/mail/', '/var/spool/mail/'];

/**
 * The maildrop a notice is about: `INBOX` for the user's system mailbox (no mailbox, the user's own
 * name as BSD resolves it relative to the spool, or the spool path itself); otherwise the folder as
 * the sender wrote it (a subscriber that serves only the inbox ignores it).
 */
export function maildropOf(notice: ComsatDatagram): string {
  const { mailbox, user } = notice;
  if (mailbox === undefined || mailbox === user) return 'INBOX';
  for (const spool of SPOOLS) if (mailbox === spool + user) return 'INBOX';
  return mailbox;
}
