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

/** C0 and C1 controls and DEL: never in an address (smtp-server refuses them in any address too). */
const isControl = (code: number): boolean => code < 0x20 || (code >= 0x7f && code <= 0x9f);
/** Invisible formatting characters smtp-server refuses in any address: zero-width space, word joiner, BOM. */
const isInvisible = (code: number): boolean => code === 0x200b || code === 0x2060 || code === 0xfeff;

const problems = {
  unterminated: 'the quoted local part has no closing quote',
  control: 'a control character in the quoted local part',
  invisible: 'an invisible formatting character in the quoted local part',
  pairNotAscii: 'a backslash in the quoted local part quotes only a printable ASCII character',
  noDomain: 'the quoted local part must be followed by @ and the domain',
} as const;

/**
 * The quoted local part of a MAIL FROM or RCPT TO command line, if its path has one. Its content
 * is RFC 5321's `qtextSMTP` (printable ASCII and space, but `"` and `\`) and `quoted-pairSMTP`
 * (`\` and printable ASCII or space), and any UTF-8 beyond ASCII (RFC 6531) but controls and
 * invisible formatting characters.
 */
export function readQuotedPath(command: string): QuotedPath {
  const colon = command.indexOf(':');
  if (colon < 0) return { kind: 'unquoted' };
  let open = colon + 1;
  while (command[open] === ' ' || command[open] === '\t') open++;
  if (command[open] !== '<') return { kind: 'unquoted' };
  open += 1 + (SOURCE_ROUTE.exec(command.slice(open + 1))?.[0].length ?? 0);
  if (command[open] !== '"') return { kind: 'unquoted' };

  let at = open + 1;
  for (;;) {
    if (at >= command.length) return { kind: 'invalid', problem: problems.unterminated };
    const code = command.charCodeAt(at);
    if (code === 0x22) break;
    if (code === 0x5c) {
      at++;
      if (at >= command.length) return { kind: 'invalid', problem: problems.unterminated };
      const quoted = command.charCodeAt(at);
      if (isControl(quoted)) return { kind: 'invalid', problem: problems.control };
      if (quoted > 0x7e) return { kind: 'invalid', problem: problems.pairNotAscii };
    } else if (isControl(code)) {
      return { kind: 'invalid', problem: problems.control };
    } else if (isInvisible(code)) {
      return { kind: 'invalid', problem: problems.invisible };
    }
    at++;
  }
  const close = at;
  if (command[close + 1] !== '@') return { kind: 'invalid', problem: problems.noDomain };
  const localPart = command.slice(open, close + 1);
  return { kind: 'quoted', localPart, standIn: command.slice(0, open) + 'q'.repeat(localPart.length) + command.slice(close + 1) };
}

/**
 * An address as it names a mailbox: a quoted local part without its quotes and quoted-pairs
 * (`"Al\ice"@example.com` is `Alice@example.com`), as Postfix compares it; any other as it is.
 */
export function unquotedAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 2 || !address.startsWith('"') || address[at - 1] !== '"') return address;
  return address.slice(1, at - 1).replace(/\\(.)/gsu, '$1') + address.slice(at);
}
