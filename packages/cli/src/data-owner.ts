/**
 * `hearth user` run as root on a data dir another user owns (the services' `user:`, the container
 * image's `hearth`) acts as that user before it opens anything, as the image's wrapper does with
 * setpriv: what root made there would be root's, and the services, running as that user, could no
 * longer open or write it (a first `hearth user add` made DATA/mail and DATA/accounts root's, 0700;
 * a verb run while a service is stopped made each database's -wal and -shm root's for its run,
 * left behind if it was killed).
 */
import { statSync } from 'node:fs';

/** The system refused to change this process's user to the data dir's owner. */
export class DataOwnerError extends Error {
  override readonly name = 'DataOwnerError';
}

export interface DataDirOwner {
  readonly uid: number;
  readonly gid: number;
}

/**
 * Takes the uid and gid of `dataDir`'s owner (its group as the only supplementary one) when this
 * process is root and the directory exists and is not root's; returns them, else undefined (a
 * missing data dir is made by the verb, as before). `DataOwnerError` when the system refuses.
 */
export function actAsDataDirOwner(dataDir: string): DataDirOwner | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let owner: DataDirOwner;
  try {
    const stats = statSync(dataDir);
    owner = { uid: stats.uid, gid: stats.gid };
  } catch {
    return undefined;
  }
  if (owner.uid === 0) return undefined;
  try {
    process.setgroups?.([owner.gid]);
    process.setgid?.(owner.gid);
    process.setuid?.(owner.uid);
  } catch (error) {
    throw new DataOwnerError(`cannot act as the owner of ${dataDir} (uid ${owner.uid}, gid ${owner.gid}), whose files the services use: ${(error as Error).message}`);
  }
  return owner;
}
