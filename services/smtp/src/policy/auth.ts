/** Auth policy: which login names mean which local user, and whether the password is right. */
import type { UserDirectory } from '../ports.js';
import { localUser } from './recipients.js';

/**
 * The local user a login names: `alice`, or `alice@` one of our domains. Undefined for an
 * address in another domain.
 */
export function loginUser(login: string, domains: ReadonlySet<string>): string | undefined {
  const user = localUser(login.trim(), domains);
  return user === '' ? undefined : user;
}

/** The authenticated user name, or undefined when the login or password is wrong. */
export async function authenticate(
  login: string,
  password: string,
  domains: ReadonlySet<string>,
  users: UserDirectory,
): Promise<string | undefined> {
  const user = loginUser(login, domains);
  if (user === undefined || password === '') return undefined;
  return (await users.verify(user, password)) ? user : undefined;
}
