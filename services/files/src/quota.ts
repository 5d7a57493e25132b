/**
 * Quotas on folders: each user's home folder and shares with a `quota` (RFC 4331 properties, 507
 * when exceeded), counted per folder. The bytes used are counted by walking the folder once, then
 * kept up to date by the writes that go through the service; a COPY, MOVE or DELETE of a folder
 * marks the count stale and the next question walks again. Space promised to uploads in progress
 * is reserved, so two parallel uploads cannot together pass the limit.
 */
import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';

interface Usage {
  used: number | undefined;
  reserved: number;
  counting: Promise<number> | undefined;
}

export async function du(dir: string): Promise<number> {
  let total = 0;
  let handle;
  try {
    handle = await opendir(dir);
  } catch {
    return 0;
  }
  for await (const entry of handle) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) total += await du(p);
    else if (entry.isFile()) total += await lstat(p).then((s) => s.size, () => 0);
  }
  return total;
}

export class Quotas {
  readonly #folders = new Map<string, Usage>();

  #usage(root: string): Usage {
    let u = this.#folders.get(root);
    if (!u) this.#folders.set(root, (u = { used: undefined, reserved: 0, counting: undefined }));
    return u;
  }

  /** Bytes stored in the folder `root` (walked when unknown). */
  async used(root: string): Promise<number> {
    const u = this.#usage(root);
    if (u.used !== undefined) return u.used;
    u.counting ??= du(root).finally(() => {
      u.counting = undefined;
    });
    const n = await u.counting;
    u.used ??= n;
    return u.used;
  }

  /** Bytes still free in `root` under `limit` (uploads in progress counted). */
  async available(root: string, limit: number): Promise<number> {
    const used = await this.used(root);
    return Math.max(0, limit - used - this.#usage(root).reserved);
  }

  reserve(root: string, bytes: number): () => void {
    const u = this.#usage(root);
    u.reserved += bytes;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      u.reserved -= bytes;
    };
  }

  /** A write changed the stored size by `delta` bytes. */
  adjust(root: string, delta: number): void {
    const u = this.#folders.get(root);
    if (u === undefined) return;
    if (u.used !== undefined) u.used = Math.max(0, u.used + delta);
  }

  /** Recount at the next question. */
  stale(root: string): void {
    const u = this.#folders.get(root);
    if (u !== undefined) u.used = undefined;
  }
}
