/** Auth policy: which login names mean which local user (as for POP3), and whether the password is right. */
import { localUser } from '@hearth/accounts';
import type { UserDirectory } from '../ports.js';

/** The authenticated user name, or undefined when the login or password is wrong. */
export async function authenticate(
  login: string,
  password: string,
  domains: ReadonlySet<string>,
  users: UserDirectory,
): Promise<string | undefined> {
  const user = localUser(login, domains);
  if (user === undefined || password === '') return undefined;
  return (await users.verify(user, password)) ? user : undefined;
}
