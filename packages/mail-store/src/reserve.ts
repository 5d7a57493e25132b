/**
 * The space reserve: `DIR/reserve`, a file of RESERVE_BYTES written when the store opens (if
 * there is room), so that a full disk is full for deliveries but not for the writes that free
 * space. Deleting messages (and taking or releasing an exclusive maildrop lock) must still commit
 * a few pages to the WAL: when such a write fails because the disk is full, the reserve is given
 * up and the write tried once more; the reserve is written again once a deletion has freed room.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isMailStoreError } from './errors.js';

/** Room for the WAL frames of a large deletion (each page touched is one 4 KiB frame). */
export const RESERVE_BYTES = 1024 * 1024;

export class SpaceReserve {
  readonly path: string;

  constructor(dir: string) {
    this.path = join(dir, 'reserve');
  }

  /**
   * Writes the reserve unless it is there at full size; false when there is no room for it (it
   * is then left out, and tried again after the next deletion). Never throws.
   */
  async ensure(): Promise<boolean> {
    const present = await stat(this.path).then((s) => s.size >= RESERVE_BYTES, () => false);
    if (present) return true;
    const tmp = `${this.path}.${process.pid}.tmp`;
    try {
      const file = await open(tmp, 'w', 0o600);
      try {
        // Real bytes, not a sparse file or zeros a filesystem might compress: they take the room.
        await file.write(randomBytes(RESERVE_BYTES));
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

  /** Gives the reserve up, its room free at once; false if there was none (in any process). */
  async release(): Promise<boolean> {
    return unlink(this.path).then(
      () => true,
      () => false,
    );
  }

  /**
   * Runs a write that frees space or must not fail for lack of it: if it fails with STORAGE_FULL,
   * gives the reserve up and runs it once more.
   */
  async freeing<T>(write: () => T | Promise<T>): Promise<{ readonly result: T; readonly usedReserve: boolean }> {
    try {
      return { result: await write(), usedReserve: false };
    } catch (error) {
      if (!isMailStoreError(error, 'STORAGE_FULL') || !(await this.release())) throw error;
      return { result: await write(), usedReserve: true };
    }
  }
}
