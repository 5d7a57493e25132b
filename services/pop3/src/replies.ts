/**
 * Every POP3 reply the service sends, and the Reply values command handlers return (handlers
 * never write to the socket). Response codes: RFC 2449 [IN-USE], RFC 3206 [AUTH], [SYS/TEMP],
 * [SYS/PERM].
 */
import { disableReasonText } from '@hearth/accounts';
import type { BodyReader } from './maildrop.js';

export type Reply =
  /** One status line (`+OK ...` or `-ERR ...`). `after` tells the session what to do next. */
  | { readonly kind: 'line'; readonly text: string; readonly after?: 'close' | 'starttls' | 'wait'; readonly bad?: boolean }
  /** A multi-line response held in memory (CAPA, LIST, UIDL, AUTH). */
  | { readonly kind: 'lines'; readonly text: string; readonly lines: readonly string[] }
  /** A multi-line response already formatted: the dot-stuffed lines, CRLF, and the final ".". */
  | { readonly kind: 'formatted'; readonly text: string; readonly body: Buffer }
  /** A multi-line response streamed from the store (RETR, TOP). */
  | {
      readonly kind: 'body';
      readonly text: string;
      readonly open: () => Promise<BodyReader>;
      readonly bodyLines?: number;
      /** The answer when another session has deleted the message since the snapshot. */
      readonly gone: Reply;
    }
  /** A SASL continuation (`+ base64`): the next line goes to `next`, not to the command table. */
  | { readonly kind: 'challenge'; readonly text: string; readonly next: (line: string) => Promise<Reply> | Reply }
  /**
   * A go-ahead for a dot-stuffed message (XSEND): the lines up to the final `.` become `body`;
   * the reply `receive` resolves to is sent after the final `.`.
   */
  | { readonly kind: 'data'; readonly text: string; readonly receive: (body: AsyncIterable<Uint8Array>) => Promise<Reply> };

export const ok = (text: string): Reply => ({ kind: 'line', text: `+OK ${text}` });
export const err = (text: string): Reply => ({ kind: 'line', text: `-ERR ${text}` });
/** A client mistake that counts towards `maxBadCommands`. */
export const bad = (text: string): Reply => ({ kind: 'line', text: `-ERR ${text}`, bad: true });
const fatal = (text: string): Reply => ({ kind: 'line', text: `-ERR ${text}`, after: 'close' });

/**
 * `1 message`, `2 messages`: the count in the texts of RFC 1939's shape (`+OK 2 messages (320
 * octets)`). Clients read the numbers of STAT and LIST's scan lines, not these words.
 */
const messages = (count: number): string => `${count} message${count === 1 ? '' : 's'}`;

const INTERNAL_ERROR = '[SYS/TEMP] Internal error; try again later';
const CREDENTIALS_CHANGED = '[AUTH] The password was changed, or the account disabled or removed, since this login; log in again';

export const replies = {
  greeting: (timestamp: string) => `+OK Hearth POP3 ready ${timestamp}`,

  // Guards and session limits.
  unknownCommand: (verb: string) => bad(`Unknown command: ${printable(verb)}`),
  emptyCommand: () => bad('Empty command'),
  wrongState: (verb: string) => bad(`${verb} is not valid in this state`),
  wrongArgs: (verb: string) => bad(`Wrong number of arguments for ${verb}`),
  lineTooLong: () => bad('Line too long'),
  tooManyBadCommands: () => fatal('Too many bad commands; closing the connection'),
  credentialsChanged: () => fatal(CREDENTIALS_CHANGED),
  /** The same, ending an XIDLE wait: written by the session, which then closes. */
  credentialsChangedLine: () => `-ERR ${CREDENTIALS_CHANGED}`,
  autologout: () => '-ERR Autologout: idle for too long',
  shuttingDownLine: () => '-ERR [SYS/TEMP] Server shutting down; try again later',
  tooManyConnections: () => '-ERR [SYS/TEMP] Too many connections; try again later',
  tooManyConnectionsFromIp: () => '-ERR [SYS/TEMP] Too many connections from your address',
  internalError: () => err(INTERNAL_ERROR),
  internalErrorLine: () => `-ERR ${INTERNAL_ERROR}`,
  permanentError: () => err('[SYS/PERM] Mail storage failed for this request'),

  // AUTHORIZATION.
  capa: () => 'Capability list follows',
  userAccepted: () => ok('Send your password'),
  passWithoutUser: () => bad('Send USER first'),
  plaintextRefused: () =>
    err('[AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections; use STLS or the POP3S port'),
  authFailed: () => err('[AUTH] Authentication failed'),
  /**
   * The right password for a disabled account with a reason (as Dovecot's nologin reason);
   * without one, `authFailed`. The administrator's reason in US-ASCII (accents dropped, anything
   * else as `?`): this server offers no UTF8 or LANG (RFC 6856), so no client has asked for UTF-8
   * reply text, and 200 characters of UTF-8 could pass RFC 1939's 512 octets a line.
   */
  accountDisabled: (reason: string) => err(`[AUTH] This account is disabled: ${disableReasonText(reason, 'ascii')}`),
  apopUnavailable: () => err('[AUTH] Authentication failed'),
  tooManyFailures: () => err('[SYS/TEMP] Too many failed logins; try again later'),
  tooManyUserSessions: () => err('[SYS/TEMP] Too many sessions for this user'),
  inUse: () => err('[IN-USE] Maildrop is locked by another session'),
  loggedIn: (count: number, octets: number) => ok(`Logged in, ${messages(count)} (${octets} octets)`),
  authMechanisms: () => 'Available SASL mechanisms',
  unknownMechanism: (mech: string) => bad(`Unsupported authentication mechanism: ${printable(mech)}`),
  authCancelled: () => err('Authentication cancelled'),
  badBase64: () => bad('Invalid base64 data'),
  stlsBegin: (): Reply => ({ kind: 'line', text: '+OK Begin TLS negotiation', after: 'starttls' }),
  stlsUnavailable: () => err('STLS is not available'),
  stlsActive: () => err('Command not permitted when TLS active'),
  signOff: (): Reply => ({ kind: 'line', text: '+OK Hearth POP3 signing off', after: 'close' }),

  // TRANSACTION.
  stat: (count: number, octets: number) => ok(`${count} ${octets}`),
  listing: (count: number, octets: number) => `${messages(count)} (${octets} octets)`,
  scanLine: (number: number, size: number) => ok(`${number} ${size}`),
  uidlList: () => 'Unique-ID listing follows',
  uidlLine: (number: number, uidl: string) => ok(`${number} ${uidl}`),
  retr: (size: number) => `${size} octets`,
  top: () => 'Top of message follows',
  invalidNumber: (arg: string) => bad(`Invalid message number: ${printable(arg)}`),
  invalidLineCount: (arg: string) => bad(`Invalid line count: ${printable(arg)}`),
  noSuchMessage: (number: number) => err(`No such message: ${number}`),
  alreadyDeleted: (number: number) => err(`Message ${number} already deleted`),
  messageGone: (number: number) => err(`Message ${number} was deleted by another session`),
  deleted: (number: number) => ok(`Message ${number} deleted`),
  noop: (): Reply => ({ kind: 'line', text: '+OK' }),
  rset: (count: number, octets: number) => ok(`Maildrop has ${messages(count)} (${octets} octets)`),
  updated: (removed: number): Reply => ({
    kind: 'line',
    text: `+OK Hearth POP3 signing off (${messages(removed)} deleted)`,
    after: 'close',
  }),
  /** `permanent`: the store will not do it later either (the maildrop is gone): [SYS/PERM]. */
  updateFailed: (permanent: boolean): Reply => ({
    kind: 'line',
    text: `-ERR [SYS/${permanent ? 'PERM' : 'TEMP'}] Some deleted messages were not removed`,
    after: 'close',
  }),

  // Hearth extensions (README: X-HEARTH-PUSH, X-HEARTH-SEND).
  waitBegin: (): Reply => ({ kind: 'line', text: '+OK Waiting for new mail; send DONE to stop', after: 'wait' }),
  pushLine: (number: number, uidl: string, size: number) => `* NEW ${number} ${uidl} ${size}`,
  waitDone: (count: number, octets: number) => ok(`Done waiting, ${messages(count)} (${octets} octets)`),
  waitBadLine: () => bad('Done waiting: only DONE is valid while waiting'),
  pushBacklog: () => '-ERR [SYS/TEMP] Too many unread new-mail notifications; closing the connection',
  sendGoAhead: () => 'Send the message, end with a line holding only "."',
  relayingDenied: (arg: string) => err(`Relaying is not configured: ${printable(arg, 'spaces')} is not a local address`),
  noSuchRecipient: (arg: string) => err(`No such local user: ${printable(arg, 'spaces')}`),
  tooManyRecipients: (max: number) => bad(`Too many recipients (at most ${max})`),
  /** A recipient's quoted local part is malformed (`@hearth/mail-delivery`'s `QUOTING_PROBLEMS`, or XSEND's). */
  badRecipientSyntax: (problem: string) => bad(`Bad recipient address syntax: ${problem}`),
  sendTooLarge: (max: number) => err(`Message too large (at most ${max} octets); nothing was delivered`),
  sendLineTooLong: () => err('Message line too long; nothing was delivered'),
  sent: (id: string, recipients: number) => ok(`Message ${id} delivered to ${recipients} maildrop${recipients === 1 ? '' : 's'}`),
} as const;

/**
 * Client text echoed in a reply: printable ASCII only, at most 40 characters; with `spaces`, a
 * space is kept too (an XSEND recipient's quoted local part may hold one: `"john doe"@localhost`).
 */
function printable(text: string, spaces?: 'spaces'): string {
  const clean = text.replace(spaces === undefined ? /[^\x21-\x7e]/g : /[^\x20-\x7e]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}...` : clean;
}
