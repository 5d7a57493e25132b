/**
 * Quoted local parts in MAIL FROM and RCPT TO (RFC 5321 4.1.2: `Local-part = Dot-string /
 * Quoted-string`), as `"john doe"@example.com` or `"a\"b"@example.com`.
 *
 * smtp-server's address parser splits the command at whitespace and splits the address at every
 * `@`, so it refuses `"john doe"@example.com` and takes `"alice@localhost` as an address. It has
 * no option or hook for this: `session.ts` reads a quoted local part here first, answers bad
 * quoting itself, and hands smtp-server the command with a stand-in local part of the same length
 * (so that it still checks the route, the domain, the path's length and the parameters), then
 * puts the quoted local part back, as the client gave it.
 */
import { readQuotedString } from '@hearth/mail-delivery';

export type QuotedPath =
  /** No quoted local part: smtp-server parses the command as it is. */
  | { readonly kind: 'unquoted' }
  /**
   * `localPart` as the client gave it, quotes and quoted-pairs included; `standIn` is the command
   * with that local part replaced by as many `q`s.
   */
  | { readonly kind: 'quoted'; readonly localPart: string; readonly standIn: string }
  /** What is wrong with the quoting, for the 501. */
  | { readonly kind: 'invalid'; readonly problem: string };

/** A source route before the mailbox (RFC 5321 4.1.2, to be accepted and ignored). */
const SOURCE_ROUTE = /^@[^\s,:@<>"]+(?:,@[^\s,:@<>"]+)*:/;

const NO_DOMAIN = 'the quoted local part must be followed by @ and the domain';

/**
 * The quoted local part of a MAIL FROM or RCPT TO command line, if its path has one, read as
 * `@hearth/mail-delivery`'s `readQuotedString` reads one (every service that takes a recipient
 * reads it the same way; `unquotedAddress` there gives the mailbox it names).
 */
export function readQuotedPath(command: string): QuotedPath {
  const colon = command.indexOf(':');
  if (colon < 0) return { kind: 'unquoted' };
  let open = colon + 1;
  while (command[open] === ' ' || command[open] === '\t') open++;
  if (command[open] !== '<') return { kind: 'unquoted' };
  open += 1 + (SOURCE_ROUTE.exec(command.slice(open + 1))?.[0].length ?? 0);
  if (command[open] !== '"') return { kind: 'unquoted' };

  const quoted = readQuotedString(command, open);
  if (quoted.kind === 'invalid') return quoted;
  const { close } = quoted;
  if (command[close + 1] !== '@') return { kind: 'invalid', problem: NO_DOMAIN };
  const localPart = command.slice(open, close + 1);
  return { kind: 'quoted', localPart, standIn: command.slice(0, open) + 'q'.repeat(localPart.length) + command.slice(close + 1) };
}
