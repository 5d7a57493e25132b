/**
 * A user's home folder, for whoever deletes the user (`hearth user del`, the admin page): where it
 * is, whether it holds anything, and removing it with what the service keeps about it (its dead
 * properties, its locks, its quota count). The service's databases are WAL files shared between
 * processes: each is opened for the one change and closed, while a running service keeps its own
 * connections to them. Only what this needs is imported, not the server.
 */
import { existsSync } from 'node:fs';
import { opendir, rm } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { DeadProps } from './dead-props.js';
import { LockTable } from './locks.js';
import { Quotas } from './quota.js';

/** Whether `user` names one folder (no separator, NUL, `.` or `..`): the service refuses a home to any other name. */
export function canHaveHome(user: string): boolean {
  return /^[^/\\\0]+$/.test(user) && user !== '.' && user !== '..';
}

/**
 * The home folder of `user` as the service names it (`DATA/files/home/<user>`, the key of its
 * properties, locks and quota count). `dataDir` must be absolute, as the service's keys are.
 */
export function homeFolder(dataDir: string, user: string): string {
  if (!isAbsolute(dataDir)) throw new Error(`the data dir must be an absolute path: ${dataDir}`);
  if (!canHaveHome(user)) throw new Error(`the user name ${JSON.stringify(user)} cannot have a home folder`);
  return join(dataDir, 'files', 'home', user);
}

/** Whether the home folder of `user` holds anything (a file, a folder, a link); false when it does not exist. */
export async function homeHoldsFiles(dataDir: string, user: string): Promise<boolean> {
  let dir;
  try {
    dir = await opendir(homeFolder(dataDir, user));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  try {
    return (await dir.read()) !== null;
  } finally {
    await dir.close();
  }
}

/**
 * Removes the home folder of `user` with everything in it (links are removed, never followed),
 * then forgets its dead properties, its locks and its quota count, so that a user made again under
 * the name starts with an empty folder and nothing of the old one. A database the service has not
 * made yet holds nothing to forget and is not created.
 */
export async function removeHome(dataDir: string, user: string): Promise<void> {
  const root = homeFolder(dataDir, user);
  await rm(root, { recursive: true, force: true });
  const files = join(dataDir, 'files');
  changeIfMade(join(files, 'props.db'), (path) => new DeadProps(path), (props) => props.remove(root));
  changeIfMade(join(files, 'locks.db'), (path) => new LockTable(path), (locks) => locks.removeTree(root));
  changeIfMade(join(files, 'quota.db'), (path) => new Quotas(path), (quotas) => quotas.stale(root));
}

/** Opens the database at `path` when it exists, makes one change, closes it. */
function changeIfMade<T extends { close(): void }>(path: string, open: (path: string) => T, change: (db: T) => void): void {
  if (!existsSync(path)) return;
  const db = open(path);
  try {
    change(db);
  } finally {
    db.close();
  }
}
