/**
 * Body files beside the database: `bodies/YYYYMMDD/<pid>.<start>.<random>`. A body larger than
 * INLINE_MAX is written to `tmp/`, synced, renamed into place, and only then referenced from the
 * index; the directory sync is left to the caller so that one group commit syncs each directory
 * once. Smaller bodies stay in memory and go into the index row itself.
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
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { syncFolder } from '@hearth/durable';
import { FileBodyReader } from './body-reader.js';
import { CrlfNormalizer } from './crlf.js';
import { MailStoreError, storageError } from './errors.js';
import { isProcessAlive, selfStartTime } from '@hearth/process';

export type BodySource = Readable | AsyncIterable<Uint8Array> | Uint8Array | string;

/** A body ready to be referenced: small ones in memory (stored in the index), large ones on disk. */
export type WrittenBody =
  | { readonly kind: 'inline'; readonly data: Buffer; readonly size: number }
  | {
      readonly kind: 'file';
      /** Path relative to `bodies/`, as stored in the index. */
      readonly file: string;
      /** Absolute directory holding the file: must be synced before the index row is committed. */
      readonly dir: string;
      readonly size: number;
    };

/** Bodies up to this size are stored in the index (one WAL write, group-committed), not as files. */
export const INLINE_MAX = 64 * 1024;

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

  /**
   * Reads `source` (CRLF-normalised, after `prefix`). A body of at most INLINE_MAX bytes is
   * returned in memory; a larger one is written to `tmp/`, synced and renamed into `bodies/`,
   * not yet referenced by the index.
   */
  async write(source: BodySource, options: { maxSize?: number | undefined; prefix?: string | Uint8Array | undefined }): Promise<WrittenBody> {
    const sink = new BodySink(this.#tmp);
    try {
      await copyInto(sink, source, options.maxSize, options.prefix);
      return await sink.finish(async (tmpPath, size) => {
        const name = basename(tmpPath);
        const day = new Date().toISOString().slice(0, 10).replaceAll('-', '');
        const dir = await this.#dayDir(day);
        await rename(tmpPath, join(dir, name));
        return { kind: 'file', file: `${day}/${name}`, dir, size };
      });
    } catch (error) {
      await sink.discard();
      throw error;
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
    if (created) await syncFolder(this.#bodies);
    this.#knownDirs.add(dir);
    return dir;
  }

  async open(file: string, range: { start?: number; end?: number } = {}): Promise<ReadStream> {
    const handle = await open(this.path(file), 'r');
    return createReadStream('', { fd: handle, ...range, highWaterMark: WRITE_CHUNK });
  }

  /** A reader of `file` (its size as the index records it), opened now so ENOENT shows here. */
  async openReader(file: string, size: number, range: { start?: number; end?: number } = {}): Promise<FileBodyReader> {
    const handle = await open(this.path(file), 'r');
    return new FileBodyReader(handle, size, range);
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

/**
 * Staging buffers for body files: a large body is copied into one of these and written a full
 * buffer at a time (a few thread-pool round trips per megabyte). They are reused across
 * deliveries, so a steady stream of large messages allocates nothing per chunk and keeps the
 * garbage collector out of the way; at most STAGING_KEEP stay allocated between deliveries.
 */
const STAGING_SIZE = 256 * 1024;
const STAGING_KEEP = 16;
const spareStaging: Buffer[] = [];

/** Collects a body in memory and spills it to a temp file once it outgrows INLINE_MAX. */
class BodySink {
  readonly #tmpDir: string;
  /** Named when the body first outgrows INLINE_MAX: a small body never touches the disk. */
  #tmpPath: string | undefined;
  /** The body while it is small enough for the index; buffers nobody else will change. */
  readonly #pending: Buffer[] = [];
  #pendingBytes = 0;
  #handle: FileHandle | undefined;
  #stage: Buffer | undefined;
  #staged = 0;
  #placed = false;
  size = 0;

  constructor(tmpDir: string) {
    this.#tmpDir = tmpDir;
  }

  /**
   * Adds the next piece. `owned`: the buffer is the sink's to keep; otherwise it may be the
   * caller's reusable buffer and is copied if it has to wait in memory.
   */
  async add(chunk: Buffer, owned: boolean): Promise<void> {
    this.size += chunk.length;
    if (this.#handle === undefined) {
      if (this.#pendingBytes + chunk.length <= INLINE_MAX) {
        this.#pending.push(owned ? chunk : Buffer.from(chunk));
        this.#pendingBytes += chunk.length;
        return;
      }
      await this.#spill();
    }
    await this.#write(chunk);
  }

  async #spill(): Promise<void> {
    this.#tmpPath = join(this.#tmpDir, `${process.pid}.${selfStartTime()}.${randomBytes(8).toString('hex')}`);
    try {
      this.#handle = await open(this.#tmpPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    } catch (error) {
      throw storageError(error, 'creating a body file');
    }
    this.#stage = spareStaging.pop() ?? Buffer.allocUnsafeSlow(STAGING_SIZE);
    for (const piece of this.#pending.splice(0)) await this.#write(piece);
    this.#pendingBytes = 0;
  }

  /** Copies into the staging buffer, writing it out whenever it is full. */
  async #write(chunk: Buffer): Promise<void> {
    const stage = this.#stage as Buffer;
    if (this.#staged === 0 && chunk.length >= stage.length) {
      // Written before add() returns, so the caller's buffer needs no copy.
      await this.#writeOut(chunk);
      return;
    }
    let offset = 0;
    while (offset < chunk.length) {
      const copied = chunk.copy(stage, this.#staged, offset);
      this.#staged += copied;
      offset += copied;
      if (this.#staged === stage.length) await this.#flush();
    }
  }

  async #flush(): Promise<void> {
    if (this.#staged === 0 || this.#stage === undefined) return;
    const data = this.#stage.subarray(0, this.#staged);
    this.#staged = 0;
    await this.#writeOut(data);
  }

  async #writeOut(data: Buffer): Promise<void> {
    const handle = this.#handle as FileHandle;
    try {
      let offset = 0;
      while (offset < data.length) offset += (await handle.write(data, offset)).bytesWritten;
    } catch (error) {
      throw storageError(error, 'writing a body file');
    }
  }

  #releaseStage(): void {
    const stage = this.#stage;
    this.#stage = undefined;
    this.#staged = 0;
    if (stage !== undefined && spareStaging.length < STAGING_KEEP) spareStaging.push(stage);
  }

  async finish(place: (tmpPath: string, size: number) => Promise<WrittenBody>): Promise<WrittenBody> {
    const handle = this.#handle;
    if (handle === undefined) {
      const data = this.#pending.length === 1 ? (this.#pending[0] as Buffer) : Buffer.concat(this.#pending, this.#pendingBytes);
      return { kind: 'inline', data, size: this.size };
    }
    await this.#flush();
    this.#releaseStage();
    try {
      await handle.datasync();
      this.#handle = undefined;
      await handle.close();
    } catch (error) {
      throw storageError(error, 'syncing a body file');
    }
    try {
      const placed = await place(this.#tmpPath as string, this.size);
      this.#placed = true;
      return placed;
    } catch (error) {
      throw storageError(error, 'placing a body file');
    }
  }

  /** Removes the temp file after a failure (a placed file is the caller's to remove). */
  async discard(): Promise<void> {
    this.#pending.length = 0;
    // No write is in flight here: every write is awaited before add() or finish() returns.
    this.#releaseStage();
    const handle = this.#handle;
    this.#handle = undefined;
    if (handle !== undefined) await handle.close().catch(() => undefined);
    if (!this.#placed && this.#tmpPath !== undefined) await unlink(this.#tmpPath).catch(() => undefined);
  }
}

async function copyInto(
  sink: BodySink,
  source: BodySource,
  maxSize: number | undefined,
  prefix: string | Uint8Array | undefined,
): Promise<void> {
  const normalizer = new CrlfNormalizer();
  const add = async (chunk: Uint8Array | string): Promise<void> => {
    const input = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const out = normalizer.push(input);
    if (maxSize !== undefined && sink.size + out.length > maxSize) {
      throw new MailStoreError('MESSAGE_TOO_LARGE', `message exceeds the size limit of ${maxSize} bytes`);
    }
    // A chunk may be the caller's reusable buffer: the sink copies it if it has to wait.
    await sink.add(out, typeof chunk === 'string' || out.buffer !== input.buffer);
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
}
