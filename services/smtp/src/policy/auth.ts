/** Auth policy: which login names mean which local user (as for POP3), and whether the password is right. */
import { localUser, type Authentication } from '@hearth/accounts';
import type { UserDirectory } from '../ports.js';

/**
 * The user a login and password prove: `accepted`, `disabled` (the right password for a disabled
 * account), or undefined when the login or password is wrong.
 */
export async function authenticate(
  login: string,
  password: string,
  domains: ReadonlySet<string>,
  users: UserDirectory,
): Promise<Exclude<Authentication, { kind: 'rejected' }> | undefined> {
  const user = localUser(login, domains);
  if (user === undefined || password === '') return undefined;
  const checked = await users.authenticate(user, password);
  return checked.kind === 'rejected' ? undefined : checked;
}
