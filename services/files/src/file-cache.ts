/**
 * A short-lived cache in front of the disk for the request path: where a URL's names land (the
 * result of `locate`, symbolic link checks included) and the bytes of small files. An entry is
 * trusted for `ttlMs` from the start of its lookup; then the next request looks it up again, and a
 * cached body is kept only if the file is still the same (device, inode, size, modification and
 * change times). An entry used in the last quarter of its trust is looked up again meanwhile, in
 * the background (`#renew`): the same file is trusted anew from the start of that lookup, a
 * changed or vanished one is dropped. A file in steady use is so never looked up on a request's
 * way, and its requests do not all go the slow way together when its trust runs out. Every
 * request that changes anything clears the whole cache before and after its handler runs
 * (`clear`), and a lookup that was under way across a clear is not stored: this service always
 * sees its own writes; changes made by anything else are seen within `ttlMs`.
 * Only found resources are kept; bounded in entries and in body bytes (oldest dropped first).
 * A body is only ever read through a descriptor checked to be inside the share (`anchored.ts`)
 * whose stats are those of the cached lookup, so what the cache serves is never from outside.
 */
import type { Stats } from 'node:fs';
import { openFileInside } from './anchored.js';
import { closeQuick, readStartQuick } from './quick-calls.js';
import { locate, type Located } from './resource.js';

export interface FileCacheLimits {
  /** How long a lookup is trusted. */
  readonly ttlMs: number;
  readonly maxEntries: number;
  /** Bytes of file bodies held in total. */
  readonly maxBytes: number;
}

export const DEFAULT_CACHE_LIMITS: FileCacheLimits = { ttlMs: 1000, maxEntries: 10_000, maxBytes: 32 * 1024 * 1024 };

/** A small file's content and the stats of the descriptor it was read from (or of its cached lookup, the same file). */
export interface SmallFile {
  readonly stat: Stats;
  readonly body: Buffer;
}

/** A small file the cache holds. */
export interface HeldFile extends SmallFile {
  /**
   * From when (a `Date.now()` value) the cache must be asked again: its trust in the lookup ends
   * then, or a renewal of the lookup is due then.
   */
  readonly recheck: number;
}

interface Entry {
  readonly located: Located & { readonly stat: Stats };
  /** When its lookup started (the last renewal's, once renewed): trusted until `at + ttlMs`. */
  at: number;
  body: Buffer | undefined;
  /** Whether a renewal of its lookup is under way. */
  renewing: boolean;
}

/** Whether two stats are of the same, unchanged file (device, inode, size, modification and change times). */
export function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/** `join(root, ...names)` for names already checked to be plain (no `/`, `.`, `..`). */
export function pathBelow(root: string, names: readonly string[]): string {
  if (names.length === 0) return root;
  return root.endsWith('/') ? root + names.join('/') : `${root}/${names.join('/')}`;
}

export class FileCache {
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;
  /** Changes with every clear: a lookup started before one is not stored. */
  #generation = 0;
  /** Changes whenever an entry goes (dropped, replaced or cleared). */
  #version = 0;

  constructor(private readonly limits: FileCacheLimits = DEFAULT_CACHE_LIMITS) {}

  /** `locate(root, names)`, from the cache while the entry is fresh. */
  async locate(root: string, names: readonly string[]): Promise<Located> {
    const key = pathBelow(root, names);
    const now = Date.now();
    const hit = this.#entries.get(key);
    if (hit !== undefined && now - hit.at < this.limits.ttlMs) {
      this.#renewIfDue(hit, key, root, names, now);
      return hit.located;
    }
    const generation = this.#generation;
    const located = await locate(root, names);
    if (generation !== this.#generation) return located;
    this.#drop(key);
    if (located.stat !== undefined) {
      const stat = located.stat;
      const body = hit?.body !== undefined && sameFile(hit.located.stat, stat) ? hit.body : undefined;
      this.#entries.set(key, { located: { ...located, stat }, at: now, body, renewing: false });
      if (body !== undefined) this.#bytes += body.length;
      this.#trim();
    }
    return located;
  }

  /**
   * The file `names` below `root` with its whole content, when the cache holds both and the lookup
   * is still trusted at `now` (a `Date.now()` value); nothing is looked up or read (for an answer
   * made at once, `cached-get.ts`).
   */
  whole(root: string, names: readonly string[], now: number): HeldFile | undefined {
    const key = pathBelow(root, names);
    const hit = this.#entries.get(key);
    if (hit?.body === undefined || now - hit.at >= this.limits.ttlMs || !hit.located.stat.isFile()) return undefined;
    this.#renewIfDue(hit, key, root, names, now);
    const until = hit.at + this.limits.ttlMs;
    return { stat: hit.located.stat, body: hit.body, recheck: hit.renewing ? until : Math.min(until, this.#renewFrom(hit)) };
  }

  /**
   * Changes whenever an entry goes: while it is the same, what `whole` returned is still what the
   * cache holds (until that answer's `until`).
   */
  get version(): number {
    return this.#version;
  }

  /**
   * The whole content of the file at `path` (in the share at `root`) found by `locate` with
   * `stat`: from the cache when it holds that same file, else read through a descriptor checked
   * inside the share. Undefined when that descriptor is not a regular file inside the share or
   * has more than `max` bytes now (the caller goes through its own checked open).
   */
  async read(root: string, path: string, stat: Stats, max: number): Promise<SmallFile | undefined> {
    const hit = this.#entries.get(path);
    if (hit?.body !== undefined && sameFile(hit.located.stat, stat)) return { stat, body: hit.body };
    const generation = this.#generation;
    const opened = await openFileInside(root, path);
    if (opened === undefined) return undefined;
    let body: Buffer;
    try {
      if (opened.stat.size > max) return undefined;
      body = await readStartQuick(opened.fd, opened.stat.size);
    } finally {
      closeQuick(opened.fd);
    }
    // Stored only as the content of the lookup's file, read whole, with no clear in between.
    const entry = this.#entries.get(path);
    if (generation === this.#generation && entry !== undefined && entry.body === undefined && body.length === opened.stat.size && sameFile(entry.located.stat, opened.stat)) {
      entry.body = body;
      this.#bytes += body.length;
      this.#trim();
    }
    return { stat: opened.stat, body };
  }

  /** Forget everything (any change made by this service). */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
    this.#generation++;
    this.#version++;
  }

  /** Lookups held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Bytes of bodies held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** When an entry's renewal is due: in the last quarter of its trust. */
  #renewFrom(entry: Entry): number {
    return entry.at + this.limits.ttlMs - this.limits.ttlMs / 4;
  }

  #renewIfDue(entry: Entry, key: string, root: string, names: readonly string[], now: number): void {
    if (!entry.renewing && now >= this.#renewFrom(entry)) this.#renew(entry, key, root, names, now);
  }

  /**
   * Look `entry` up again, in the background, from `started` (a `Date.now()` value). Still the same
   * file (its names are the entry's key): trusted anew from `started`, its body kept. Anything
   * else (another file, a link leading elsewhere, gone, a failed lookup): the entry goes, and the
   * next request looks it up itself. A renewal that ran across a clear, or whose entry was
   * replaced meanwhile, changes nothing.
   */
  #renew(entry: Entry, key: string, root: string, names: readonly string[], started: number): void {
    entry.renewing = true;
    const generation = this.#generation;
    const current = (): boolean => generation === this.#generation && this.#entries.get(key) === entry;
    locate(root, names).then(
      (located) => {
        entry.renewing = false;
        if (!current()) return;
        if (located.stat !== undefined && sameFile(entry.located.stat, located.stat)) entry.at = started;
        else this.#drop(key);
      },
      () => {
        entry.renewing = false;
        if (current()) this.#drop(key);
      },
    );
  }

  #drop(key: string): void {
    const old = this.#entries.get(key);
    if (old === undefined) return;
    if (old.body !== undefined) this.#bytes -= old.body.length;
    this.#entries.delete(key);
    this.#version++;
  }

  #trim(): void {
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= this.limits.maxEntries && this.#bytes <= this.limits.maxBytes) return;
      this.#drop(key);
    }
  }
}

