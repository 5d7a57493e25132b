/**
 * Writing a file so that a crash or a failed upload never leaves a half-written file under the real
 * name: the body streams into a hidden temporary file in the same folder, which is synced, then
 * renamed over the target, and the folder is synced so the rename itself is durable. On any failure
 * the temporary file is removed and the old file is untouched.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { syncFolder } from '@hearth/durable';
import { TEMP_PREFIX } from './resource.js';

/** Bytes gathered from the socket before one write to the file. */
const WRITE_BATCH = 512 * 1024;
/** Bytes written between background flushes to disk. */
const SYNC_EVERY = 64 * 1024 * 1024;

export class BodyLimitError extends Error {
  override readonly name = 'BodyLimitError';
  constructor(
    readonly status: 413 | 507,
    message: string,
  ) {
    super(message);
  }
}

export interface WriteLimits {
  /** Bytes allowed in total; beyond, `BodyLimitError(413)`. */
  readonly maxBytes: number;
  /**
   * Whether the quota lets the body grow to `total` bytes (asked for every chunk: cheap while
   * within what was granted already); when not, `BodyLimitError(507)`.
   */
  readonly quotaAllows: (total: number) => boolean;
}

/** Stream `body` into `target` atomically. Resolves with the bytes written. */
export async function writeAtomically(body: Readable, target: string, limits: WriteLimits, mode = 0o644): Promise<number> {
  const dir = dirname(target);
  const temp = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
  const handle = await open(temp, 'wx', mode);
  let bytes = 0;
  let closed = false;
  let syncing: Promise<void> = Promise.resolve();
  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    // Written data is flushed to disk in the background as the upload goes (one flush at a time),
    // so the final sync does not have to write out the whole body at once.
    let unsynced = 0;
    const flush = async (): Promise<void> => {
      if (pendingBytes === 0) return;
      const chunks = pending;
      unsynced += pendingBytes;
      pending = [];
      pendingBytes = 0;
      await handle.writev(chunks);
      if (unsynced >= SYNC_EVERY) {
        unsynced = 0;
        await syncing;
        syncing = handle.datasync();
        syncing.catch(() => {});
      }
    };
    // Iterated by hand: leaving a for-await loop would destroy the request (and the socket with
    // it), and a client that went over a limit must still get its 413 or 507.
    const chunks = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    for (;;) {
      const next = await chunks.next();
      if (next.done === true) break;
      const chunk = next.value;
      bytes += chunk.length;
      if (bytes > limits.maxBytes) throw new BodyLimitError(413, `body larger than ${limits.maxBytes} bytes`);
      if (!limits.quotaAllows(bytes)) throw new BodyLimitError(507, 'quota exceeded');
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= WRITE_BATCH) await flush();
    }
    await flush();
    await syncing;
    await handle.sync();
    await handle.close();
    closed = true;
    await rename(temp, target);
  } catch (err) {
    if (!closed) {
      await syncing.catch(() => {});
      await handle.close().catch(() => {});
    }
    await unlink(temp).catch(() => {});
    throw err;
  }
  // The file is in place under its name: a folder that cannot be synced does not undo that.
  await syncFolder(dir).catch(() => undefined);
  return bytes;
}
