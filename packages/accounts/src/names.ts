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
 * The reason given for disabling an account, trimmed; undefined when none is given (empty or
 * spaces only). At most `MAX_DISABLE_REASON` characters and no control characters nor line or
 * paragraph separators: it is shown on one line of `hearth user list`, the admin page, and a POP3
 * or SMTP reply.
 */
export function normalizeDisableReason(reason: string | undefined): string | undefined {
  const text = reason?.trim() ?? '';
  if (text === '') return undefined;
  if ([...text].length > MAX_DISABLE_REASON) {
    throw new AccountsError('BAD_REASON', `the reason is longer than ${MAX_DISABLE_REASON} characters`);
  }
  if (LINE_BREAKING.test(text)) throw new AccountsError('BAD_REASON', 'the reason contains a control character (a line break, a tab): write it on one line');
  return text;
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
 * - `utf-8` (the admin page, `hearth user list`): as stored, but every control character or line
 *   separator (a reason stored before they were refused, or by hand) as `?`;
 * - `ascii` (an SMTP reply, RFC 5321's printable US-ASCII; a POP3 reply to a client that has not
 *   turned on UTF-8, RFC 6856): letters without their accents (`é` as `e`; `ß`, which has no
 *   ASCII form, as `?`), ligatures and compatibility forms spelled out (`…` as `...`), dashes and
 *   quotes as `-`, `'` and `"`, anything else as `?`; cut to `MAX_ASCII_REASON` characters (the
 *   last three `...`), since a compatibility form may spell out to several.
 */
export function disableReasonText(reason: string, charset: 'ascii' | 'utf-8'): string {
  const safe = [...reason].map((c) => (LINE_BREAKING.test(c) ? '?' : c)).join('');
  if (charset === 'utf-8') return safe;
  const ascii = [...safe.normalize('NFKD')]
    .filter((c) => !/\p{M}/u.test(c))
    .map((c) => ASCII_PUNCTUATION[c] ?? (/^[\x20-\x7e]$/.test(c) ? c : '?'))
    .join('');
  return ascii.length > MAX_ASCII_REASON ? `${ascii.slice(0, MAX_ASCII_REASON - 3)}...` : ascii;
}
