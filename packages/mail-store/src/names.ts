import { canonicalName, NAME_RULE } from '@hearth/accounts';
import { MailStoreError } from './errors.js';

/**
 * User names follow @hearth/accounts' rule (case-insensitive, stored lower case); the store
 * reports a bad one as its own BAD_USER_NAME.
 */
export function normalizeUserName(name: string): string {
  const user = canonicalName(name);
  if (user === undefined) throw new MailStoreError('BAD_USER_NAME', `invalid user name ${JSON.stringify(name)}: ${NAME_RULE}`);
  return user;
}

export function isValidUserName(name: string): boolean {
  return canonicalName(name) !== undefined;
}
