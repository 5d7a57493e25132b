/**
 * Reading a stored body into the caller's own buffers. Unlike a Readable, which allocates a new
 * chunk for every read and reads ahead, a reader reads only when asked and only into the buffer
 * it is given: a server streaming many large bodies at once can reuse a small pool of buffers and
 * read the next chunk only once its socket has room.
 */
import type { FileHandle } from 'node:fs/promises';

export interface BodyReader {
  /** Bytes this reader returns in all (the body's size, or the range's). */
  readonly size: number;
  /** True once every byte was returned (or the file ended early). */
  readonly done: boolean;
  /** Copies the next bytes to the start of `into`; resolves how many (0 once done). */
  read(into: Uint8Array): Promise<number>;
  /** Releases the file, if any. Idempotent; `read` must not be called afterwards. */
  close(): Promise<void>;
}

/** `start` and `end` (inclusive, as in `fs.createReadStream`) clamped to a body of `size` bytes. */
export function byteRange(size: number, range: { start?: number; end?: number }): { start: number; end: number } {
  const start = Math.min(Math.max(0, range.start ?? 0), size);
  const end = Math.max(start, Math.min(size, range.end === undefined ? size : range.end + 1));
  return { start, end };
}

/** A body kept in the index row, already in memory. */
export class InlineBodyReader implements BodyReader {
  readonly size: number;
  readonly #data: Buffer;
  #at = 0;

  constructor(data: Buffer, range: { start?: number; end?: number } = {}) {
    const { start, end } = byteRange(data.length, range);
    this.#data = data.subarray(start, end);
    this.size = this.#data.length;
  }

  get done(): boolean {
    return this.#at >= this.#data.length;
  }

  async read(into: Uint8Array): Promise<number> {
    const n = this.#data.copy(into, 0, this.#at, Math.min(this.#data.length, this.#at + into.length));
    this.#at += n;
    return n;
  }

  async close(): Promise<void> {
    this.#at = this.#data.length;
  }
}

/** A body file, read at explicit positions (no read-ahead, no buffer of its own). */
export class FileBodyReader implements BodyReader {
  readonly size: number;
  readonly #handle: FileHandle;
  readonly #end: number;
  #position: number;
  #closed: Promise<void> | undefined;

  constructor(handle: FileHandle, fileSize: number, range: { start?: number; end?: number } = {}) {
    const { start, end } = byteRange(fileSize, range);
    this.#handle = handle;
    this.#position = start;
    this.#end = end;
    this.size = end - start;
  }

  get done(): boolean {
    return this.#position >= this.#end;
  }

  async read(into: Uint8Array): Promise<number> {
    const want = Math.min(into.length, this.#end - this.#position);
    if (want <= 0) return 0;
    const { bytesRead } = await this.#handle.read(into, 0, want, this.#position);
    // A file shorter than the index says ends the body here rather than looping on 0.
    this.#position = bytesRead === 0 ? this.#end : this.#position + bytesRead;
    return bytesRead;
  }

  close(): Promise<void> {
    this.#position = this.#end;
    this.#closed ??= this.#handle.close();
    return this.#closed;
  }
}
