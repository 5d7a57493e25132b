/** The trace headers an MTA prepends to a message it accepts (RFC 5321 section 4.4). */
import { isIPv6 } from 'node:net';
import { readQuotedString } from './address.js';

export interface TraceInfo {
  /** The name the client gave in HELO/EHLO (for a POP3 XSEND: the authenticated user). */
  readonly helo: string;
  readonly remoteAddress: string;
  /** Our host name. */
  readonly by: string;
  /** SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA (RFC 3848); POP3 or POP3S for XSEND. */
  readonly protocol: string;
  readonly id: string;
  /** The envelope sender; empty for the null sender `<>`. */
  readonly sender: string;
  /** The recipients; named in `for` only when there is exactly one. */
  readonly recipients: readonly string[];
  readonly date: Date;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

const two = (n: number): string => String(n).padStart(2, '0');

/** An RFC 5322 date-time in UTC: `Sat, 21 Nov 2025 05:44:00 +0000`. */
export function rfc5322Date(d: Date): string {
  return (
    `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`
  );
}

/** Client-supplied text made safe for a header: no controls, spaces, angle brackets or parentheses. */
export function clean(text: string): string {
  return text.replace(/[\x00-\x20\x7f<>()]/g, '?');
}

/**
 * An envelope address made safe for a header as `clean` does, but a quoted local part kept as
 * given (`"john doe"@example.com`): inside its quotes a space, `<`, `>` or `(` is the address's own.
 */
export function cleanAddress(address: string): string {
  const quoted = address.startsWith('"') ? readQuotedString(address, 0) : undefined;
  if (quoted?.kind !== 'quoted' || address[quoted.close + 1] !== '@') return clean(address);
  return address.slice(0, quoted.close + 1) + clean(address.slice(quoted.close + 1));
}

function addressLiteral(ip: string): string {
  return isIPv6(ip) ? `[IPv6:${ip}]` : `[${ip}]`;
}

/** `Return-Path:` and `Received:` as the lines to put before the message, CRLF-terminated. */
export function traceHeaders(info: TraceInfo): string {
  const returnPath = `Return-Path: <${cleanAddress(info.sender)}>\r\n`;
  const only = info.recipients.length === 1 ? info.recipients[0] : undefined;
  // The date follows the clauses after a `;` (RFC 5322 section 3.6.7), as Postfix writes it:
  // after `for` on its line, or at the end of the `by` line when there is no `for`.
  const received =
    `Received: from ${clean(info.helo) || 'unknown'} (${addressLiteral(info.remoteAddress)})\r\n` +
    `\tby ${clean(info.by)} (Hearth) with ${info.protocol} id ${clean(info.id)}` +
    (only !== undefined ? `\r\n\tfor <${cleanAddress(only)}>; ` : ';\r\n\t') +
    `${rfc5322Date(info.date)}\r\n`;
  return returnPath + received;
}
