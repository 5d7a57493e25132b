/**
 * Whole-tree file operations for COPY, MOVE and DELETE. Links are never followed out of a share:
 * a copy skips symbolic links (it would otherwise copy what they point to), and removal deletes the
 * link itself. Sizes of what is removed or copied are returned for the quota.
 */
import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, opendir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isTempName } from './resource.js';

/** Copy `from` to `to` (a file, or a folder with its members when `deep`). Returns bytes copied. */
export async function copyTree(from: string, to: string, deep: boolean): Promise<number> {
  const st = await lstat(from);
  if (st.isFile()) {
    await copyFile(from, to, constants.COPYFILE_FICLONE);
    return st.size;
  }
  if (!st.isDirectory()) return 0;
  await mkdir(to);
  if (!deep) return 0;
  let bytes = 0;
  for await (const entry of await opendir(from)) {
    if (isTempName(entry.name) || entry.isSymbolicLink()) continue;
    bytes += await copyTree(join(from, entry.name), join(to, entry.name), true);
  }
  return bytes;
}

/** Remove `path` and everything below it. */
export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: false });
}

/** Rename, or copy and remove when the two are on different file systems. */
export async function moveTree(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await copyTree(from, to, true);
    await removeTree(from);
  }
}
