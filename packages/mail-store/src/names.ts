import { MailStoreError } from './errors.js';

/**
 * User names are the local part of the user's address: ASCII letters, digits, `.`, `_`, `-`,
 * starting with a letter or digit, at most 64 characters. They are case-insensitive and stored in
 * lower case, so `Alice` and `alice` are the same user (as RCPT TO local parts usually are).
 */
const USER_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function normalizeUserName(name: string): string {
  const lower = name.toLowerCase();
  if (!USER_NAME.test(lower) || lower.endsWith('.') || lower.includes('..')) {
    throw new MailStoreError(
      'BAD_USER_NAME',
      `invalid user name ${JSON.stringify(name)}: use 1 to 64 of a-z 0-9 . _ - starting with a letter or digit`,
    );
  }
  return lower;
}

export function isValidUserName(name: string): boolean {
  try {
    normalizeUserName(name);
    return true;
  } catch {
    return false;
  }
}
