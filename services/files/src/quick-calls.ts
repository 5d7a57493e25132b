/**
 * Single file system calls of a request (a lookup's `lstat` and `realpath`, opening a file and its
 * `fstat`, reading a small one whole, opening a folder to list it, closing a descriptor or a
 * folder) made on the main thread while they answer from memory (the page cache, the kernel's name
 * cache), as nginx makes them, and through the thread pool for a while once two in a row did not.
 * Listings decide the same for their members' stats, per batch (`member-stats.ts`).
 *
 * A thread-pool call costs the main thread a hand-over and a wake-up on its way back: a Range GET
 * of a small file, which goes the full way with five of them, took 135 µs of the service's CPU
 * time with all in the thread pool, and 0.78 times that with these made at once and the
 * download's read still in the thread pool (bench/files README, "A request that goes the full
 * way").
 */
import { close, closeSync, fstat, fstatSync, lstatSync, open, opendirSync, openSync, read, readSync, realpathSync, statSync, type Dir, type OpenDirOptions, type Stats } from 'node:fs';
import { lstat, opendir, realpath, stat } from 'node:fs/promises';

/**
 * A call that takes longer than this did not answer from memory (it answers in a few microseconds
 * when it does): a disk's seek, a network file system's round trip. A call during which the
 * thread was preempted can take as long (`member-stats.ts`): on a CPU shared with the service's
 * other threads (the garbage collector's, the thread pool's) or another program's, that happened
 * once in 6,000 listings here (bench/files README, "small listings"). So one slow call is not
 * enough: the calls go through the thread pool once two in a row have been slow, as a disk that
 * does not answer from memory makes every call wait.
 */
const SLOW_CALL_MS = 2;

/** How long calls go through the thread pool after a slow one. */
const SLOW_FOR_MS = 10_000;

export class QuickCalls {
  /** Until when (on `now`'s clock) calls go through the thread pool. */
  #slowUntil = Number.NEGATIVE_INFINITY;
  /** The last call made on the main thread was slow. */
  #lastSlow = false;

  /** `now`: the clock calls are timed with (milliseconds; another one in tests). */
  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Whether calls are made on the main thread now. */
  get quick(): boolean {
    return this.now() >= this.#slowUntil;
  }

  /**
   * `sync()` on the main thread while calls are quick, its result or its error as a settled
   * promise; otherwise `async()`. A `sync()` that took longer than `SLOW_CALL_MS` right after
   * another that did sends the calls of the next `SLOW_FOR_MS` to the thread pool.
   */
  call<T>(sync: () => T, async: () => Promise<T>): Promise<T> {
    const started = this.now();
    if (started < this.#slowUntil) return async();
    try {
      return Promise.resolve(sync());
    } catch (err) {
      return Promise.reject(err as Error);
    } finally {
      const ended = this.now();
      const slow = ended - started > SLOW_CALL_MS;
      if (slow && this.#lastSlow) this.#slowUntil = ended + SLOW_FOR_MS;
      this.#lastSlow = slow && !this.#lastSlow;
    }
  }
}

/** The service's calls: one policy for the process, as the page cache is one. */
export const quickCalls = new QuickCalls();

/** `open(2)` of `path` with `flags`: its descriptor. */
export function openQuick(path: string, flags: number): Promise<number> {
  return quickCalls.call(
    () => openSync(path, flags),
    () => new Promise((resolve, reject) => open(path, flags, (err, fd) => (err ? reject(err) : resolve(fd)))),
  );
}

/** The stats of open descriptor `fd`. */
export function fstatQuick(fd: number): Promise<Stats> {
  return quickCalls.call(
    () => fstatSync(fd),
    () => new Promise((resolve, reject) => fstat(fd, (err, st) => (err ? reject(err) : resolve(st)))),
  );
}

/** A small file's first `size` bytes (fewer when it is shorter now), read whole from `fd` into a new buffer. */
export async function readStartQuick(fd: number, size: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(size);
  const n = await quickCalls.call(
    () => readSync(fd, buffer, 0, size, 0),
    () => new Promise<number>((resolve, reject) => read(fd, buffer, 0, size, 0, (err, count) => (err ? reject(err) : resolve(count)))),
  );
  return n === size ? buffer : buffer.subarray(0, n);
}

/** Close `fd`; an error closing it is ignored (nothing was written through it). */
export function closeQuick(fd: number): void {
  quickCalls.call(() => closeSync(fd), () => new Promise<void>((resolve) => close(fd, () => resolve()))).catch(() => {});
}

/** The folder at `path` opened for reading its entries. */
export function opendirQuick(path: string, options: OpenDirOptions): Promise<Dir> {
  return quickCalls.call(() => opendirSync(path, options), () => opendir(path, options));
}

/** Close folder `dir` (`opendirQuick`); an error closing it is ignored. */
export function closeDirQuick(dir: Dir): void {
  quickCalls.call(() => dir.closeSync(), () => dir.close()).catch(() => {});
}

/** `lstat(2)` of `path`. */
export function lstatQuick(path: string): Promise<Stats> {
  return quickCalls.call(() => lstatSync(path), () => lstat(path));
}

/** `stat(2)` of `path` (links followed). */
export function statQuick(path: string): Promise<Stats> {
  return quickCalls.call(() => statSync(path), () => stat(path));
}

/** `realpath(3)` of `path`. */
export function realpathQuick(path: string): Promise<string> {
  return quickCalls.call(() => realpathSync.native(path), () => realpath(path));
}
