/**
 * A short-lived cache in front of the disk for the request path: where a URL's names land (the
 * result of `locate`, symbolic link checks included) and the bytes of small files. An entry is
 * trusted for `ttlMs` after it was looked up; then the next request looks it up again, and a
 * cached body is kept only if the file is still the same (device, inode, size, modification and
 * change times). Every request that changes anything clears the whole cache before and after its
 * handler runs (`clear`), and a lookup that was under way across a clear is not stored: this
 * service always sees its own writes; changes made by anything else are seen within `ttlMs`.
 * Only found resources are kept; bounded in entries and in body bytes (oldest dropped first).
 */
import type { Stats } from 'node:fs';
import { locate, readSmall, type Located } from './resource.js';

export interface FileCacheLimits {
  /** How long a lookup is trusted. */
  readonly ttlMs: number;
  readonly maxEntries: number;
  /** Bytes of file bodies held in total. */
  readonly maxBytes: number;
}

export const DEFAULT_CACHE_LIMITS: FileCacheLimits = { ttlMs: 1000, maxEntries: 10_000, maxBytes: 32 * 1024 * 1024 };

interface Entry {
  readonly located: Located & { readonly stat: Stats };
  readonly at: number;
  body: Buffer | undefined;
}

function sameFile(a: Stats, b: Stats): boolean {
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

  constructor(private readonly limits: FileCacheLimits = DEFAULT_CACHE_LIMITS) {}

  /** `locate(root, names)`, from the cache while the entry is fresh. */
  async locate(root: string, names: readonly string[]): Promise<Located> {
    const key = pathBelow(root, names);
    const now = Date.now();
    const hit = this.#entries.get(key);
    if (hit !== undefined && now - hit.at < this.limits.ttlMs) return hit.located;
    const generation = this.#generation;
    const located = await locate(root, names);
    if (generation !== this.#generation) return located;
    this.#drop(key);
    if (located.stat !== undefined) {
      const stat = located.stat;
      const body = hit?.body !== undefined && sameFile(hit.located.stat, stat) ? hit.body : undefined;
      this.#entries.set(key, { located: { ...located, stat }, at: now, body });
      if (body !== undefined) this.#bytes += body.length;
      this.#trim();
    }
    return located;
  }

  /** The whole content of a small file found by `locate`, from the cache when it is the same file. */
  async read(path: string, stat: Stats): Promise<Buffer> {
    const hit = this.#entries.get(path);
    if (hit?.body !== undefined && sameFile(hit.located.stat, stat)) return hit.body;
    const generation = this.#generation;
    const body = await readSmall(path, stat.size);
    const entry = this.#entries.get(path);
    if (generation === this.#generation && entry !== undefined && entry.body === undefined && body.length === stat.size && sameFile(entry.located.stat, stat)) {
      entry.body = body;
      this.#bytes += body.length;
      this.#trim();
    }
    return body;
  }

  /** Forget everything (any change made by this service). */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
    this.#generation++;
  }

  /** Lookups held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Bytes of bodies held. */
  get bytes(): number {
    return this.#bytes;
  }

  #drop(key: string): void {
    const old = this.#entries.get(key);
    if (old === undefined) return;
    if (old.body !== undefined) this.#bytes -= old.body.length;
    this.#entries.delete(key);
  }

  #trim(): void {
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= this.limits.maxEntries && this.#bytes <= this.limits.maxBytes) return;
      this.#drop(key);
    }
  }
}
