/**
 * File access that no symbolic link swapped in at the wrong moment can lead out of a share.
 * `locate` (resource.ts) checks paths, but between that check and the use of a path a folder on
 * it may be replaced by a link to somewhere else. So the checks that count are made on what was
 * actually opened (Linux: `/proc/self/fd/N` names the file open as N, wherever it is):
 * - a file is read only through a descriptor whose real path is inside the share;
 * - a change (PUT, MKCOL, DELETE, COPY, MOVE, LOCK on a new name, setting times) happens in a
 *   parent folder that is open and checked inside the share, through `/proc/self/fd/N/name`, which
 *   no later swap can redirect; the last name itself is never followed (O_NOFOLLOW, O_EXCL,
 *   rename and unlink act on a link itself);
 * - trees (tree.ts) are walked by opening each folder with O_DIRECTORY | O_NOFOLLOW below one
 *   already open, so a folder swapped for a link mid-walk is skipped, never entered.
 */
import { closeSync, constants, openSync, readlinkSync, type Stats } from 'node:fs';
import { open as openHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { closeQuick, fstatQuick, openQuick } from './quick-calls.js';
import { DavError } from './replies.js';
import { inside, realRoot } from './resource.js';

/** The path of open descriptor `fd`, valid while it stays open. */
export function fdPath(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

/** Folders, never through a link: a link or anything else gives ELOOP or ENOTDIR. */
export const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** A file replaced or removed since it was opened is still the file we opened. */
function undeleted(target: string): string {
  return target.endsWith(' (deleted)') ? target.slice(0, -' (deleted)'.length) : target;
}

/**
 * The real path of open descriptor `fd`, read at once: a link of /proc never waits for a disk, and
 * this saves a trip through the thread pool on every request that opens something.
 */
function realOfNow(fd: number): string {
  return undeleted(readlinkSync(fdPath(fd)));
}

export interface OpenedFile {
  readonly fd: number;
  /** The stats of the open file (what is served, whatever the path names meanwhile). */
  readonly stat: Stats;
}

/**
 * Open the regular file at `path` for reading, checked on the open descriptor: undefined (after
 * closing it) when it is not a regular file or not inside the share at `root`. O_NONBLOCK: a FIFO
 * cannot hang the open. The caller closes `fd`.
 */
export async function openFileInside(root: string, path: string): Promise<OpenedFile | undefined> {
  let fd: number;
  try {
    fd = await openQuick(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
    throw err;
  }
  try {
    if (!inside(realOfNow(fd), await realRoot(root))) {
      closeQuick(fd);
      return undefined;
    }
    const stat = await fstatQuick(fd);
    if (!stat.isFile()) {
      closeQuick(fd);
      return undefined;
    }
    return { fd, stat };
  } catch (err) {
    closeQuick(fd);
    throw err;
  }
}

/**
 * Run `fn` with a path for the member `names` of a share that goes through its parent folder,
 * open and checked inside the share at `root` (409 when the parent is not a folder inside it).
 * The folder stays open until `fn` has settled.
 */
export async function inParent<T>(root: string, names: readonly string[], fn: (path: string) => Promise<T>): Promise<T> {
  if (names.length === 0) throw new DavError(403, 'a share itself cannot be changed, only what is in it');
  const parent = join(root, ...names.slice(0, -1));
  let handle;
  try {
    handle = await openHandle(parent, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') throw new DavError(409, 'the parent collection does not exist');
    throw err;
  }
  try {
    if (!inside(realOfNow(handle.fd), await realRoot(root))) throw new DavError(409, 'the parent collection does not exist');
    return await fn(join(fdPath(handle.fd), names[names.length - 1]!));
  } finally {
    await handle.close();
  }
}

/** Set the times of what `path` names, checked on the open descriptor to be inside the share at `root`. */
export async function setTimesInside(root: string, path: string, atime: Date, mtime: Date): Promise<void> {
  const handle = await openHandle(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    if (!inside(realOfNow(handle.fd), await realRoot(root))) throw new DavError(404, 'not found');
    await handle.utimes(atime, mtime);
  } finally {
    await handle.close();
  }
}

export interface OpenDir {
  /** The folder's path through its open descriptor (members are `join(path, name)`). */
  readonly path: string;
  close(): void;
}

/**
 * Open the folder at `path` for listing, checked on the descriptor to be inside the share at
 * `root`; undefined when it cannot be opened as a folder or is not inside. Its calls are quick
 * calls, as a GET's are (`quick-calls.ts`): a listing made them through the thread pool, four
 * hand-overs of its seven.
 */
export async function openDirInside(root: string, path: string): Promise<OpenDir | undefined> {
  let fd: number;
  try {
    fd = await openQuick(path, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch {
    return undefined;
  }
  try {
    if (!inside(realOfNow(fd), await realRoot(root))) {
      closeQuick(fd);
      return undefined;
    }
  } catch (err) {
    closeQuick(fd);
    throw err;
  }
  return { path: fdPath(fd), close: () => closeQuick(fd) };
}

/**
 * Throws unless `/proc/self/fd` names open files here (Linux with /proc mounted), which every
 * check above relies on: better a clear refusal at start than a 500 on every request.
 */
export function checkFdPaths(): void {
  const fd = openSync('/', constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    if (realOfNow(fd) !== '/') throw new Error(`${fdPath(fd)} does not name /`);
  } catch (err) {
    throw new Error(`the file service needs /proc/self/fd (Linux, /proc mounted) to check opened files against their share: ${(err as Error).message}`);
  } finally {
    closeSync(fd);
  }
}
