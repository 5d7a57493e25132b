/**
 * Users as the page changes them, keeping the account and its maildrop together as `hearth user`
 * does: adding creates the maildrop, then the account; deleting deletes the maildrop (the store
 * refuses while it holds mail without purge, or while a POP3 session holds it), then the account.
 */
import { opendir, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { AccountsError, normalizeUserName, validatePassword } from '@hearth/accounts';
import type { Accounts } from '@hearth/accounts';
import type { MailStore } from '@hearth/mail-store';

export interface UserStores {
  readonly accounts: Accounts;
  readonly store: MailStore;
}

/** Creates the maildrop, then the account; returns the canonical name. */
export async function createUser({ accounts, store }: UserStores, name: string, password: string): Promise<string> {
  const user = normalizeUserName(name);
  validatePassword(password);
  if (accounts.has(user)) throw new AccountsError('USER_EXISTS', `user ${user} already exists`);
  store.addMaildrop(user);
  return accounts.add(user, password);
}

/** Deletes the maildrop (refusals are the store's `MailStoreError`), then the account; returns messages purged. */
export async function deleteUser({ accounts, store }: UserStores, name: string, purge: boolean): Promise<number> {
  const user = normalizeUserName(name);
  if (!accounts.has(user) && !store.hasMaildrop(user)) throw new AccountsError('NO_SUCH_USER', `no such user: ${user}`);
  const { purged } = store.hasMaildrop(user) ? await store.deleteMaildrop(user, { purge }) : { purged: 0 };
  if (accounts.has(user)) accounts.remove(user);
  return purged;
}

/** Bytes under a folder (files only, links not followed); 0 when it does not exist. Stops after `maxEntries`. */
export async function folderBytes(dir: string, maxEntries = 100_000): Promise<number> {
  let total = 0;
  let seen = 0;
  const walk = async (d: string): Promise<void> => {
    let handle;
    try {
      handle = await opendir(d);
    } catch {
      return;
    }
    for await (const entry of handle) {
      if (++seen > maxEntries) return;
      const p = join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (entry.isFile()) total += await lstat(p).then((s) => s.size, () => 0);
    }
  };
  await walk(dir);
  return total;
}

/** A user's home folder of the file service. */
export const homeFolder = (dataDir: string, user: string): string => join(dataDir, 'files', 'home', user);
