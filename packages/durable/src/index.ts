/**
 * Files that survive a crash or a power loss. A file replaced whole goes through a temporary
 * beside it: written, synced, renamed over the name, and the folder synced, so that a reader sees
 * the old file or the new one and never a part of either, and after a crash or a power loss the
 * name holds one of the two. A folder is synced after a name in it is made or renamed, which the
 * file's own sync does not make durable.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { chmod, open, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A file could not be written whole; `code` is the file system's (`ENOSPC` for a full disk). */
export class FileWriteError extends Error {
  override readonly name = 'FileWriteError';
  readonly code: string | undefined;

  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`cannot write ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.code = (cause as NodeJS.ErrnoException | undefined)?.code;
  }
}

/**
 * Syncs folder `dir`, so that the names made or renamed in it survive a power loss. A file system
 * that cannot sync a folder (`EINVAL`) keeps its names as it does; that is not an error.
 */
export async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync().catch(ignoreUnsupported);
  } finally {
    await handle.close();
  }
}

/** `syncFolder`, blocking. */
export function syncFolderSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    try {
      fsyncSync(fd);
    } catch (err) {
      ignoreUnsupported(err);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces `path` whole with `data`, with permissions `mode` (whatever the umask), as the top of
 * the file says. A failure (a full disk) leaves the old file as it was and no temporary, and is
 * thrown as a `FileWriteError` naming the file. A folder that cannot be synced once the file is
 * renamed (an I/O error) is thrown the same way: the new file is then in place, but a power loss
 * may take it back.
 */
export async function replaceFile(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const temp = temporaryFor(path);
  try {
    await writeFile(temp, data, { mode, flush: true });
    await chmod(temp, mode);
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw new FileWriteError(path, err);
  }
  await syncFolder(dirname(path)).catch((err: unknown) => {
    throw new FileWriteError(path, err);
  });
}

/** `replaceFile`, blocking. */
export function replaceFileSync(path: string, data: string | Uint8Array, mode: number): void {
  const temp = temporaryFor(path);
  try {
    writeFileSync(temp, data, { mode, flush: true });
    chmodSync(temp, mode);
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw new FileWriteError(path, err);
  }
  try {
    syncFolderSync(dirname(path));
  } catch (err) {
    throw new FileWriteError(path, err);
  }
}

/**
 * Makes the new file `path` holding `data`, with permissions `mode` (whatever the umask): written,
 * synced, and its folder synced. A file already there is left as it is (`EEXIST`). A failure
 * (a full disk) removes what was written of the new file, and is thrown as a `FileWriteError`
 * naming it.
 */
export async function createFile(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const handle = await open(path, 'wx', mode).catch((err: unknown) => {
    throw new FileWriteError(path, err);
  });
  try {
    await handle.writeFile(data);
    await handle.chmod(mode);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(path, { force: true });
    throw new FileWriteError(path, err);
  }
  try {
    await handle.close();
    await syncFolder(dirname(path));
  } catch (err) {
    throw new FileWriteError(path, err);
  }
}

/** A hidden name beside `path`, its own to each write (two writers at once never share one). */
function temporaryFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

function ignoreUnsupported(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
}
