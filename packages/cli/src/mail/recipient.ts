/**
 * A `--to` argument as one XSEND recipient. Each argument is one address, `user` or `user@domain`
 * (or `<user@domain>`), whatever its local part holds: a local part that is not a dot-atom (a
 * space, a quote, an `@`...) goes quoted, as RFC 5321 4.1.2 writes it (`john doe@localhost` as
 * `"john doe"@localhost`), and one given quoted (`"john doe"@localhost`) is read and written back
 * with the least quoting, as that section asks a sender to. XSEND splits its recipients at spaces
 * outside quotes, so a quoted local part reaches it as one recipient.
 *
 * What no address can carry is refused before anything is sent: a control character (a line
 * break would end the command), an invisible formatting character (the services refuse them), an
 * empty local part or domain, a domain that is not a name or an address literal, a name with the
 * address (`Bob <bob@localhost>`).
 */

import { quoteLocalPart, readQuotedString, unquotedAddress } from '@hearth/mail-delivery';

export type Recipient = { readonly kind: 'address'; readonly address: string } | { readonly kind: 'invalid'; readonly problem: string };

/** A domain name (letters of any script, digits, `-`, dots between labels) or an address literal in brackets. */
const DOMAIN = /^(?:[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*|\[[\x21-\x5a\x5e-\x7e]+\])$/u;
/** C0 and C1 controls and DEL. */
const CONTROL = /[\x00-\x1f\x7f-\x9f]/u;
/** Zero-width space, word joiner, byte order mark: refused in any address by the services. */
const INVISIBLE = /[\u200b\u2060\ufeff]/u;

/** What a `--to` argument names, as XSEND takes it; or what is wrong with it. */
export function recipientOf(arg: string): Recipient {
  const invalid = (problem: string): Recipient => ({ kind: 'invalid', problem: `${JSON.stringify(arg)}: ${problem}` });
  const control = CONTROL.exec(arg);
  if (control) return invalid(`a control character (U+${control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) cannot be sent in an address`);
  if (INVISIBLE.test(arg)) return invalid('an invisible formatting character cannot be sent in an address');
  const bare = arg.startsWith('<') && arg.endsWith('>') ? arg.slice(1, -1) : arg;
  let local: string;
  let domain: string | undefined;
  if (bare.startsWith('"')) {
    // Read as the services read it (`readQuotedString`), then unquoted.
    const quoted = readQuotedString(bare, 0);
    if (quoted.kind === 'invalid') return invalid(quoted.problem);
    local = unquotedAddress(bare.slice(0, quoted.close + 1));
    const rest = bare.slice(quoted.close + 1);
    if (rest !== '' && !rest.startsWith('@')) return invalid('its quoted local part must be followed by @ and the domain, or end the address');
    domain = rest === '' ? undefined : rest.slice(1);
  } else {
    if (/[<>]/.test(bare)) return invalid('give the address alone, without a name or angle brackets inside (bob@localhost)');
    const at = bare.lastIndexOf('@');
    local = at < 0 ? bare : bare.slice(0, at);
    domain = at < 0 ? undefined : bare.slice(at + 1);
  }
  if (local === '') return invalid('the address has no local part (the user before @)');
  if (domain !== undefined && !DOMAIN.test(domain)) return invalid(domain === '' ? 'the address has no domain after @' : `${JSON.stringify(domain)} is not a domain name`);
  const quoted = quoteLocalPart(local);
  return { kind: 'address', address: domain === undefined ? quoted : `${quoted}@${domain}` };
}
