/**
 * A space reserve: a file of `RESERVE_BYTES` written next to a database (if there is room), so
 * that a full disk is full for new data but not for the writes that free space or end something
 * (a deletion, an unlock): such a write must still commit a few pages to the WAL. When it fails
 * because the disk is full, the reserve is given up and the write tried once more; the owner
 * writes the reserve again once a deletion has freed room. Writing it removes the temporaries of
 * earlier writers that were killed while writing.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, stat, statfs, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Room for the WAL frames of a large deletion (each page touched is one 4 KiB frame). */
export const RESERVE_BYTES = 1024 * 1024;

/** Whether `error` says the disk (or the user's file system quota) is full: the file system's or SQLite's code. */
export function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL';
}

export class SpaceReserve {
  /**
   * `path`: the reserve's file (`DIR/reserve`); `isFull`: whether an error thrown by a write
   * means the disk is full (the caller's own error type may wrap SQLite's).
   */
  constructor(
    readonly path: string,
    private readonly isFull: (error: unknown) => boolean = isDiskFull,
  ) {}

  /**
   * Writes the reserve unless it is there at full size; false when there is no room for it (it
   * is then left out, and tried again after the next deletion). Never throws.
   */
  async ensure(): Promise<boolean> {
    const size = await stat(this.path).then((s) => s.size, () => 0);
    if (size >= RESERVE_BYTES) return true;
    await this.#removeAbandoned();
    // Without the room, not even tried: a disk that stays nearly full is not written a megabyte
    // at every deletion.
    const room = await statfs(dirname(this.path)).then((s) => s.bavail * s.bsize, () => Infinity);
    if (room + size < RESERVE_BYTES) return false;
    const tmp = `${this.path}.${process.pid}.tmp`;
    try {
      const file = await open(tmp, 'w', 0o600);
      try {
        // Real bytes, not a sparse file or zeros a filesystem might compress: they take the room.
        // writeFile, not write: a disk filling up gives write a short count, not an error.
        await file.writeFile(randomBytes(RESERVE_BYTES));
      } finally {
        await file.close();
      }
      await rename(tmp, this.path);
      return true;
    } catch {
      await unlink(tmp).catch(() => undefined);
      return false;
    }
  }

  /** Removes the temporaries of writers that are gone (killed while writing): each holds up to RESERVE_BYTES. */
  async #removeAbandoned(): Promise<void> {
    const prefix = `${basename(this.path)}.`;
    const names = await readdir(dirname(this.path)).catch(() => [] as string[]);
    for (const name of names) {
      const pid = name.startsWith(prefix) && name.endsWith('.tmp') ? Number(name.slice(prefix.length, -'.tmp'.length)) : NaN;
      if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || isRunning(pid)) continue;
      await unlink(join(dirname(this.path), name)).catch(() => undefined);
    }
  }

  /** Gives the reserve up, its room free at once; false if there was none (in any process). */
  async release(): Promise<boolean> {
    return unlink(this.path).then(
      () => true,
      () => false,
    );
  }

  /**
   * Runs a write that frees space or must not fail for lack of it: if it fails because the disk
   * is full, gives the reserve up and runs it once more.
   */
  async freeing<T>(write: () => T | Promise<T>): Promise<{ readonly result: T; readonly usedReserve: boolean }> {
    try {
      return { result: await write(), usedReserve: false };
    } catch (error) {
      if (!this.isFull(error) || !(await this.release())) throw error;
      return { result: await write(), usedReserve: true };
    }
  }
}

/** Whether a process with this pid exists (one of another user's counts; a pid taken again is taken for its writer). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
