/**
 * Users as `hearth user` and the page change them, one function for both: adding creates the
 * maildrop, then the account; deleting checks the user's home folder of the file service first
 * (refused while it holds anything, unless purge), then deletes the maildrop (the store refuses
 * while it holds mail without purge, or while a POP3 session holds it), removes the home folder
 * with its properties, locks and quota count, then the account. So a user made again under the
 * name starts with no mail and an empty folder, and a refusal deletes nothing.
 */
import { opendir, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { AccountsError, normalizeUserName, validatePassword } from '@hearth/accounts';
import type { Accounts } from '@hearth/accounts';
import { homeFolder, homeHoldsFiles, removeHome } from '@hearth/files/homes';
import type { MailStore } from '@hearth/mail-store';

export interface UserStores {
  readonly accounts: Accounts;
  readonly store: MailStore;
  /** The suite's data dir, absolute: the home folders are under DATA/files/home. */
  readonly dataDir: string;
}

/** Deleting a user was refused: its home folder holds files, and purge was not asked. */
export class HomeNotEmptyError extends Error {
  override readonly name = 'HomeNotEmptyError';
  readonly code = 'HOME_NOT_EMPTY';

  constructor(
    readonly user: string,
    readonly folder: string,
  ) {
    super(`the home folder of ${user} (${folder}) holds files: purge them to delete the user`);
  }
}

/** What deleting a user took with it. */
export interface DeletedUser {
  readonly user: string;
  /** Messages purged from its maildrop. */
  readonly messages: number;
  /** Whether its home folder held files (removed with it). */
  readonly files: boolean;
}

/** Creates the maildrop, then the account; returns the canonical name. */
export async function createUser({ accounts, store }: UserStores, name: string, password: string): Promise<string> {
  const user = normalizeUserName(name);
  validatePassword(password);
  if (accounts.has(user)) throw new AccountsError('USER_EXISTS', `user ${user} already exists`);
  store.addMaildrop(user);
  return accounts.add(user, password);
}

/**
 * Deletes the user: refused (`HomeNotEmptyError`) while its home folder holds anything without
 * `purge`; then the maildrop (the store's refusals are `MailStoreError`s, and come before anything
 * is deleted), the home folder (also when empty) and the account. A user whose account is gone but
 * whose maildrop remains (a delete cut short) is deleted too.
 */
export async function deleteUser({ accounts, store, dataDir }: UserStores, name: string, purge: boolean): Promise<DeletedUser> {
  const user = normalizeUserName(name);
  if (!accounts.has(user) && !store.hasMaildrop(user)) throw new AccountsError('NO_SUCH_USER', `no such user: ${user}`);
  const files = await homeHoldsFiles(dataDir, user);
  if (files && !purge) throw new HomeNotEmptyError(user, homeFolder(dataDir, user));
  const { purged } = store.hasMaildrop(user) ? await store.deleteMaildrop(user, { purge }) : { purged: 0 };
  await removeHome(dataDir, user);
  if (accounts.has(user)) accounts.remove(user);
  return { user, messages: purged, files };
}

/** "user bob", with what went with it: "user bob, 2 messages and its files". */
export function deletedText({ user, messages, files }: DeletedUser): string {
  const also = [...(messages > 0 ? [`${messages} message${messages === 1 ? '' : 's'}`] : []), ...(files ? ['its files'] : [])];
  return also.length === 0 ? `user ${user}` : `user ${user}${also.length === 1 ? ' and ' : ', '}${also.join(' and ')}`;
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
