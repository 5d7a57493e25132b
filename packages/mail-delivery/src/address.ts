/**
 * Quoted local parts (RFC 5321 4.1.2: `Local-part = Dot-string / Quoted-string`), as every service
 * that takes a recipient reads them: smtp's MAIL FROM and RCPT TO, pop3's XSEND. `"john doe"`,
 * `"a\"b"`: printable ASCII and spaces between quotes, `\` quoting one printable ASCII character
 * or space, and any UTF-8 beyond ASCII (RFC 6531) but controls and invisible formatting characters.
 */

/** What is wrong with a quoted local part, for the reply that refuses it. */
export const QUOTING_PROBLEMS = {
  unterminated: 'the quoted local part has no closing quote',
  control: 'a control character in the quoted local part',
  invisible: 'an invisible formatting character in the quoted local part',
  pairNotAscii: 'a backslash in the quoted local part quotes only a printable ASCII character',
} as const;

export type QuotedString =
  /** `close`: the index of the closing quote. */
  | { readonly kind: 'quoted'; readonly close: number }
  | { readonly kind: 'invalid'; readonly problem: (typeof QUOTING_PROBLEMS)[keyof typeof QUOTING_PROBLEMS] };

/** C0 and C1 controls and DEL: never in an address (smtp-server refuses them in any address too). */
const isControl = (code: number): boolean => code < 0x20 || (code >= 0x7f && code <= 0x9f);
/** Invisible formatting characters smtp-server refuses in any address: zero-width space, word joiner, BOM. */
const isInvisible = (code: number): boolean => code === 0x200b || code === 0x2060 || code === 0xfeff;

/**
 * The quoted string that opens at `text[open]` (a `"`): where it closes, or what is wrong with it.
 * Its content is RFC 5321's `qtextSMTP` (printable ASCII and space, but `"` and `\`) and
 * `quoted-pairSMTP` (`\` and printable ASCII or space), and UTF-8 beyond ASCII but controls and
 * invisible formatting characters.
 */
export function readQuotedString(text: string, open: number): QuotedString {
  let at = open + 1;
  for (;;) {
    if (at >= text.length) return { kind: 'invalid', problem: QUOTING_PROBLEMS.unterminated };
    const code = text.charCodeAt(at);
    if (code === 0x22) return { kind: 'quoted', close: at };
    if (code === 0x5c) {
      at++;
      if (at >= text.length) return { kind: 'invalid', problem: QUOTING_PROBLEMS.unterminated };
      const quoted = text.charCodeAt(at);
      if (isControl(quoted)) return { kind: 'invalid', problem: QUOTING_PROBLEMS.control };
      if (quoted > 0x7e) return { kind: 'invalid', problem: QUOTING_PROBLEMS.pairNotAscii };
    } else if (isControl(code)) {
      return { kind: 'invalid', problem: QUOTING_PROBLEMS.control };
    } else if (isInvisible(code)) {
      return { kind: 'invalid', problem: QUOTING_PROBLEMS.invisible };
    }
    at++;
  }
}

/**
 * An address as it names a mailbox: a quoted local part, alone or before `@` and the domain,
 * without its quotes and quoted-pairs (`"Al\ice"@example.com` is `Alice@example.com`, `"bob"` is
 * `bob`), as Postfix compares it; any other address, or one whose quoting is bad, as it is.
 */
export function unquotedAddress(address: string): string {
  if (!address.startsWith('"')) return address;
  const quoted = readQuotedString(address, 0);
  if (quoted.kind === 'invalid') return address;
  const domain = address.slice(quoted.close + 1);
  if (domain !== '' && !domain.startsWith('@')) return address;
  return address.slice(1, quoted.close).replace(/\\(.)/gsu, '$1') + domain;
}

/** RFC 5322 atext, and UTF-8 beyond ASCII (RFC 6531): what a dot-atom's atoms are made of. */
const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10ffff}]+$/u;

/** `local` as RFC 5321 writes a local part: as it is when a dot-atom, else a quoted string. */
export function quoteLocalPart(local: string): string {
  return local.split('.').every((atom) => ATEXT.test(atom)) ? local : `"${local.replace(/["\\]/g, '\\$&')}"`;
}
