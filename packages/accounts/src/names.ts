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
