/**
 * Whole-tree file operations for COPY, MOVE and DELETE, given paths through an open parent folder
 * (anchored.ts). Links are never followed: each folder is opened with O_DIRECTORY | O_NOFOLLOW
 * and its members are reached through that open folder, so a folder swapped for a link while the
 * walk runs is not entered (a copy skips it, a removal unlinks the link itself); a copy skips
 * links and reads each file through a descriptor opened without following one. Sizes of what is
 * copied are returned, and a tree's size is counted the same way, for the quota.
 */
import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, open, readdir, rename, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DIR_FLAGS, fdPath } from './anchored.js';
import { isTempName } from './resource.js';

type Handle = Awaited<ReturnType<typeof open>>;

/** The folder at `path`, open; undefined when it is a link or not a folder (any more). */
async function openDir(path: string): Promise<Handle | undefined> {
  try {
    return await open(path, DIR_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** Copy `from` to `to` (a file, or a folder with its members when `deep`). Returns bytes copied. */
export async function copyTree(from: string, to: string, deep: boolean): Promise<number> {
  const st = await lstat(from);
  if (st.isFile()) {
    let file: Handle;
    try {
      file = await open(from, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') return 0;
      throw err;
    }
    try {
      const fst = await file.stat();
      if (!fst.isFile()) return 0;
      await copyFile(fdPath(file.fd), to, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
      return fst.size;
    } finally {
      await file.close();
    }
  }
  if (!st.isDirectory()) return 0;
  const source = await openDir(from);
  if (source === undefined) return 0;
  try {
    await mkdir(to);
    if (!deep) return 0;
    const target = await openDir(to);
    if (target === undefined) return 0;
    try {
      let bytes = 0;
      for (const entry of await readdir(fdPath(source.fd), { withFileTypes: true })) {
        if (isTempName(entry.name) || entry.isSymbolicLink()) continue;
        bytes += await copyTree(join(fdPath(source.fd), entry.name), join(fdPath(target.fd), entry.name), true);
      }
      return bytes;
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

/**
 * Bytes of the regular files at and below `path` (a folder is walked through its open descriptor,
 * links are not followed, upload temporaries are left out); 0 when there is nothing there.
 */
export async function treeBytes(path: string): Promise<number> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return 0;
  }
  if (st.isFile()) return st.size;
  if (!st.isDirectory()) return 0;
  const dir = await openDir(path).catch(() => undefined);
  if (dir === undefined) return 0;
  try {
    let bytes = 0;
    for (const entry of await readdir(fdPath(dir.fd), { withFileTypes: true })) {
      if (isTempName(entry.name)) continue;
      const member = join(fdPath(dir.fd), entry.name);
      if (entry.isDirectory()) bytes += await treeBytes(member);
      else if (entry.isFile()) bytes += await lstat(member).then((m) => (m.isFile() ? m.size : 0), () => 0);
    }
    return bytes;
  } finally {
    await dir.close();
  }
}

/** Remove `path` and everything below it (a link is removed, never followed). */
export async function removeTree(path: string): Promise<void> {
  const dir = await openDir(path);
  if (dir === undefined) {
    await unlink(path);
    return;
  }
  try {
    for (const name of await readdir(fdPath(dir.fd))) await removeTree(join(fdPath(dir.fd), name));
  } finally {
    await dir.close();
  }
  await rmdir(path);
}

/** Rename, or copy and remove when the two are on different file systems (a failed copy is removed). */
export async function moveTree(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    try {
      await copyTree(from, to, true);
    } catch (copyErr) {
      // Cut short (the other file system is full): no partial copy stays; the source is whole.
      if ((copyErr as NodeJS.ErrnoException).code !== 'EEXIST') await removeTree(to).catch(() => {});
      throw copyErr;
    }
    await removeTree(from);
  }
}
