import { AccountsError } from './errors.js';

/**
 * User names are the local part of the user's address: ASCII letters, digits, `.`, `_`, `-`,
 * starting with a letter or digit, at most 64 characters. They are case-insensitive and stored in
 * lower case, so `Alice` and `alice` are the same user (as RCPT TO local parts usually are).
 * Group names follow the same rule.
 */
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** What a valid name looks like, for error messages. */
export const NAME_RULE = 'use 1 to 64 of a-z 0-9 . _ - starting with a letter or digit';

/** The lower-case form of `name` if it is a valid user (or group) name, else undefined. */
export function canonicalName(name: string): string | undefined {
  const lower = name.toLowerCase();
  return NAME.test(lower) && !lower.endsWith('.') && !lower.includes('..') ? lower : undefined;
}

/**
 * Which local user a login name or address means, the same for every protocol: `alice`, or `alice@`
 * one of the suite's mail domains (`domains`, lower case), in lower case. A mail client gives one
 * user name for POP3 and SMTP, often the address, and the file service and the admin page take the
 * same; SMTP and XSEND recipients follow the same rule.
 * Undefined for an address in another domain, or an empty name. The name itself is not checked
 * here (the account lookup is).
 */
/** The suite's mail domains (`mail.domains`) as `localUser` takes them: a set, in lower case. */
export function mailDomainSet(domains: readonly string[]): ReadonlySet<string> {
  return new Set(domains.map((domain) => domain.toLowerCase()));
}

export function localUser(login: string, domains: ReadonlySet<string>): string | undefined {
  const given = login.trim();
  const at = given.lastIndexOf('@');
  if (at >= 0 && !domains.has(given.slice(at + 1).toLowerCase())) return undefined;
  const local = (at >= 0 ? given.slice(0, at) : given).toLowerCase();
  return local === '' ? undefined : local;
}

export function normalizeUserName(name: string): string {
  const user = canonicalName(name);
  if (user === undefined) throw new AccountsError('BAD_USER_NAME', `invalid user name ${JSON.stringify(name)}: ${NAME_RULE}`);
  return user;
}

export function isValidUserName(name: string): boolean {
  return canonicalName(name) !== undefined;
}

export function normalizeGroupName(name: string): string {
  const group = canonicalName(name);
  if (group === undefined) throw new AccountsError('BAD_GROUP_NAME', `invalid group name ${JSON.stringify(name)}: ${NAME_RULE}`);
  return group;
}

/**
 * A list of groups as `hearth user groups` and the admin page take it: names separated by commas,
 * spaces around them and empty entries ignored (`staff, family` -> `['staff', 'family']`). The
 * names are checked by `Accounts.setGroups`.
 */
export function parseGroupList(text: string): string[] {
  return text
    .split(',')
    .map((group) => group.trim())
    .filter((group) => group !== '');
}

export function validatePassword(password: string, what = 'password'): void {
  if (password.length === 0) throw new AccountsError('BAD_PASSWORD', `the ${what} is empty`);
  if (password.length > 1024) throw new AccountsError('BAD_PASSWORD', `the ${what} is longer than 1024 characters`);
  if (/[\0\r\n]/.test(password)) throw new AccountsError('BAD_PASSWORD', `the ${what} contains a NUL, CR or LF character`);
}

/** The longest reason a disabled account may carry, in characters. */
export const MAX_DISABLE_REASON = 200;

/** What breaks a line or a terminal: control characters (C0, DEL, C1), Unicode's line and paragraph separators. */
const LINE_BREAKING = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;

/**
 * Unicode's bidirectional formatting characters, with their names: the embeddings, overrides and
 * isolates reorder how the text after them is shown, up to the end of the line (`U+202E` shows
 * `abc` as `cba`: "Trojan Source", CVE-2021-42574), and the marks, invisible, move the punctuation
 * and digits around them.
 */
const BIDI_CONTROLS: Readonly<Record<string, string>> = {
  '\u061c': 'arabic letter mark',
  '\u200e': 'left-to-right mark',
  '\u200f': 'right-to-left mark',
  '\u202a': 'left-to-right embedding',
  '\u202b': 'right-to-left embedding',
  '\u202c': 'pop directional formatting',
  '\u202d': 'left-to-right override',
  '\u202e': 'right-to-left override',
  '\u2066': 'left-to-right isolate',
  '\u2067': 'right-to-left isolate',
  '\u2068': 'first strong isolate',
  '\u2069': 'pop directional isolate',
};

/** The names of the control characters a reason typed or pasted by mistake most often holds. */
const CONTROL_NAMES: Readonly<Record<string, string>> = {
  '\t': 'a tab',
  '\n': 'a line feed',
  '\r': 'a carriage return',
  '\u001b': 'an escape',
  '\u0085': 'a next line',
  '\u2028': 'a line separator',
  '\u2029': 'a paragraph separator',
};

/** What a disable reason may not show as it is: a `LINE_BREAKING` character or one of `BIDI_CONTROLS`. */
const unsafe = (c: string): boolean => LINE_BREAKING.test(c) || Object.hasOwn(BIDI_CONTROLS, c);

/** `U+202E`: a character's code point as Unicode writes it. */
const codePoint = (c: string): string => `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * The reason given for disabling an account, trimmed; undefined when none is given (empty or
 * spaces only). At most `MAX_DISABLE_REASON` characters, and none of these, each refused with its
 * code point and its position (in characters, from 1, in the reason as given):
 * - a control character or a line or paragraph separator: it is shown on one line of
 *   `hearth user list`, the admin page, and a POP3 or SMTP reply;
 * - a bidirectional formatting character (`BIDI_CONTROLS`): it would show the reason, and what
 *   follows it on that line, in another order than it is written.
 */
export function normalizeDisableReason(reason: string | undefined): string | undefined {
  const given = reason ?? '';
  const text = given.trim();
  if (text === '') return undefined;
  const chars = [...text];
  if (chars.length > MAX_DISABLE_REASON) {
    throw new AccountsError('BAD_REASON', `the reason is longer than ${MAX_DISABLE_REASON} characters`);
  }
  const at = chars.findIndex(unsafe);
  if (at < 0) return text;
  const c = chars[at] as string;
  const position = [...given].length - [...given.trimStart()].length + at + 1;
  const bidi = Object.hasOwn(BIDI_CONTROLS, c) ? BIDI_CONTROLS[c] : undefined;
  if (bidi !== undefined) {
    throw new AccountsError(
      'BAD_REASON',
      `the reason contains a bidirectional control, ${codePoint(c)} (${bidi}), at position ${position}: it would show the text around it in another order; remove it`,
    );
  }
  const name = CONTROL_NAMES[c];
  throw new AccountsError(
    'BAD_REASON',
    `the reason contains a control character, ${codePoint(c)}${name === undefined ? '' : ` (${name})`}, at position ${position}: write it on one line`,
  );
}

/** Punctuation that Unicode does not decompose to ASCII, as ASCII. */
const ASCII_PUNCTUATION: Readonly<Record<string, string>> = {
  '\u2010': '-', '\u2011': '-', '\u2012': '-', '\u2013': '-', '\u2014': '-', '\u2015': '-', '\u2212': '-',
  '\u2018': "'", '\u2019': "'", '\u201a': "'", '\u2032': "'", '\u201c': '"', '\u201d': '"', '\u201e': '"', '\u2033': '"',
  '\u00ab': '"', '\u00bb': '"', '\u2039': "'", '\u203a': "'", '\u2022': '*', '\u00b7': '*',
};

/** The longest ASCII rendering of a reason: one POP3 line (512 octets) holds it with its words. */
const MAX_ASCII_REASON = 2 * MAX_DISABLE_REASON;

/**
 * A disable reason as one line of reply text, in the characters the reply may carry:
 * - `utf-8` (the admin page, `hearth user list`, `hearth files`): as stored, but every control
 *   character, line separator or bidirectional formatting character (a reason stored before they
 *   were refused, or by hand) as `?`;
 * - `ascii` (an SMTP reply, RFC 5321's printable US-ASCII; a POP3 reply to a client that has not
 *   turned on UTF-8, RFC 6856): letters without their accents (`é` as `e`; `ß`, which has no
 *   ASCII form, as `?`), ligatures and compatibility forms spelled out (`…` as `...`), dashes and
 *   quotes as `-`, `'` and `"`, anything else as `?`; cut to `MAX_ASCII_REASON` characters (the
 *   last three `...`), since a compatibility form may spell out to several.
 */
export function disableReasonText(reason: string, charset: 'ascii' | 'utf-8'): string {
  const safe = [...reason].map((c) => (unsafe(c) ? '?' : c)).join('');
  if (charset === 'utf-8') return safe;
  const ascii = [...safe.normalize('NFKD')]
    .filter((c) => !/\p{M}/u.test(c))
    .map((c) => ASCII_PUNCTUATION[c] ?? (/^[\x20-\x7e]$/.test(c) ? c : '?'))
    .join('');
  return ascii.length > MAX_ASCII_REASON ? `${ascii.slice(0, MAX_ASCII_REASON - 3)}...` : ascii;
}
