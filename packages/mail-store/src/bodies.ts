/**
 * Body files beside the database: `bodies/YYYYMMDD/<pid>.<start>.<random>`. A body is written to
 * `tmp/`, synced, renamed into place, and only then referenced from the index; the directory sync
 * is left to the caller so that one group commit syncs each directory once.
 *
 * The file name records the writing process (pid and start time). At open, a file that no index
 * row references is removed if its writer is gone (it crashed between writing and committing) or
 * if it is older than an hour; a file whose writer is alive may be about to be committed.
 */
import { constants, createReadStream } from 'node:fs';
import type { ReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { CrlfNormalizer } from './crlf.js';
import { MailStoreError, storageError } from './errors.js';
import { isProcessAlive, selfStartTime } from './process-identity.js';

export type BodySource = Readable | AsyncIterable<Uint8Array> | Uint8Array | string;

export interface WrittenBody {
  /** Path relative to `bodies/`, as stored in the index. */
  readonly file: string;
  /** Absolute directory holding the file: must be synced before the index row is committed. */
  readonly dir: string;
  readonly size: number;
}

const WRITE_CHUNK = 64 * 1024;
const ORPHAN_AGE_MS = 60 * 60 * 1000;

export class BodyFiles {
  readonly root: string;
  readonly #tmp: string;
  readonly #bodies: string;
  readonly #knownDirs = new Set<string>();

  constructor(root: string) {
    this.root = root;
    this.#tmp = join(root, 'tmp');
    this.#bodies = join(root, 'bodies');
  }

  async init(): Promise<void> {
    await mkdir(this.#tmp, { recursive: true, mode: 0o700 });
    await mkdir(this.#bodies, { recursive: true, mode: 0o700 });
  }

  path(file: string): string {
    return join(this.#bodies, file);
  }

  /** Writes `source` (CRLF-normalised, after `prefix`) durably into `bodies/`; unreferenced yet. */
  async write(source: BodySource, options: { maxSize?: number | undefined; prefix?: string | Uint8Array | undefined }): Promise<WrittenBody> {
    const name = `${process.pid}.${selfStartTime()}.${randomBytes(8).toString('hex')}`;
    const tmpPath = join(this.#tmp, name);
    let handle: FileHandle;
    try {
      handle = await open(tmpPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    } catch (error) {
      throw storageError(error, 'creating a body file');
    }
    let size = 0;
    try {
      size = await copyInto(handle, source, options.maxSize, options.prefix);
      await handle.datasync().catch((error: unknown) => {
        throw storageError(error, 'syncing a body file');
      });
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(tmpPath).catch(() => undefined);
      throw error;
    }
    try {
      await handle.close();
      const day = new Date().toISOString().slice(0, 10).replaceAll('-', '');
      const dir = await this.#dayDir(day);
      await rename(tmpPath, join(dir, name));
      return { file: `${day}/${name}`, dir, size };
    } catch (error) {
      await unlink(tmpPath).catch(() => undefined);
      throw storageError(error, 'placing a body file');
    }
  }

  async #dayDir(day: string): Promise<string> {
    const dir = join(this.#bodies, day);
    if (this.#knownDirs.has(dir)) return dir;
    const created = await mkdir(dir, { mode: 0o700 }).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'EEXIST') return false;
        throw error;
      },
    );
    if (created) await syncDir(this.#bodies);
    this.#knownDirs.add(dir);
    return dir;
  }

  async open(file: string, range: { start?: number; end?: number } = {}): Promise<ReadStream> {
    const handle = await open(this.path(file), 'r');
    return createReadStream('', { fd: handle, ...range, highWaterMark: WRITE_CHUNK });
  }

  async remove(files: Iterable<string>): Promise<void> {
    await Promise.all([...files].map((file) => unlink(this.path(file)).catch(() => undefined)));
  }

  /**
   * Removes body files and temp files nobody references and nobody is about to commit.
   * `referenced` is read after the directories were listed, so a body committed meanwhile counts.
   */
  async removeOrphans(referenced: () => ReadonlySet<string>, now = Date.now()): Promise<number> {
    const candidates: { path: string; file: string | undefined; name: string }[] = [];
    for (const name of await readdir(this.#tmp)) candidates.push({ path: join(this.#tmp, name), file: undefined, name });
    for (const day of await readdir(this.#bodies)) {
      const names = await readdir(join(this.#bodies, day)).catch(() => [] as string[]);
      for (const name of names) candidates.push({ path: join(this.#bodies, day, name), file: `${day}/${name}`, name });
    }
    if (candidates.length === 0) return 0;
    const live = referenced();
    let removed = 0;
    for (const candidate of candidates) {
      if (candidate.file !== undefined && live.has(candidate.file)) continue;
      if (!(await isAbandoned(candidate.path, candidate.name, now))) continue;
      await unlink(candidate.path).then(
        () => removed++,
        () => undefined,
      );
    }
    return removed;
  }
}

async function isAbandoned(path: string, name: string, now: number): Promise<boolean> {
  const [pid, start] = name.split('.');
  const writerAlive = pid !== undefined && start !== undefined && /^\d+$/.test(pid) && isProcessAlive(Number(pid), start);
  if (!writerAlive) return true;
  const info = await stat(path).catch(() => undefined);
  return info !== undefined && now - info.mtimeMs > ORPHAN_AGE_MS;
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function copyInto(
  handle: FileHandle,
  source: BodySource,
  maxSize: number | undefined,
  prefix: string | Uint8Array | undefined,
): Promise<number> {
  const normalizer = new CrlfNormalizer();
  const pending: Buffer[] = [];
  let pendingBytes = 0;
  let size = 0;
  const flush = async (): Promise<void> => {
    if (pendingBytes === 0) return;
    const data = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
    pending.length = 0;
    pendingBytes = 0;
    try {
      let offset = 0;
      while (offset < data.length) offset += (await handle.write(data, offset)).bytesWritten;
    } catch (error) {
      throw storageError(error, 'writing a body file');
    }
  };
  const add = async (chunk: Uint8Array | string): Promise<void> => {
    const out = normalizer.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    size += out.length;
    if (maxSize !== undefined && size > maxSize) {
      throw new MailStoreError('MESSAGE_TOO_LARGE', `message exceeds the size limit of ${maxSize} bytes`);
    }
    pending.push(out);
    pendingBytes += out.length;
    if (pendingBytes >= WRITE_CHUNK) await flush();
  };
  if (prefix !== undefined) await add(prefix);
  if (typeof source === 'string' || source instanceof Uint8Array) {
    await add(source);
  } else {
    // Stop reading on failure without destroying the caller's stream: an SMTP service must
    // still drain its DATA stream to find the end of the message.
    const readable = source as Readable;
    const iterable: AsyncIterable<Uint8Array | string> =
      typeof readable.iterator === 'function' ? readable.iterator({ destroyOnReturn: false }) : source;
    for await (const chunk of iterable) await add(chunk);
  }
  await flush();
  return size;
}
