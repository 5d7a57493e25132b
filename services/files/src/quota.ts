/**
 * Per-user quota on home folders (RFC 4331 properties, 507 when exceeded). The bytes used are
 * counted by walking the folder once, then kept up to date by the writes that go through the
 * service; a COPY, MOVE or DELETE of a folder marks the count stale and the next question walks
 * again. Space promised to uploads in progress is reserved, so two parallel uploads cannot together
 * pass the limit.
 */
import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';

interface Usage {
  used: number | undefined;
  reserved: number;
  counting: Promise<number> | undefined;
}

async function du(dir: string): Promise<number> {
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
  readonly #users = new Map<string, Usage>();

  #usage(user: string): Usage {
    let u = this.#users.get(user);
    if (!u) this.#users.set(user, (u = { used: undefined, reserved: 0, counting: undefined }));
    return u;
  }

  /** Bytes stored in `root` for `user` (walked when unknown). */
  async used(user: string, root: string): Promise<number> {
    const u = this.#usage(user);
    if (u.used !== undefined) return u.used;
    u.counting ??= du(root).finally(() => {
      u.counting = undefined;
    });
    const n = await u.counting;
    u.used ??= n;
    return u.used;
  }

  /** Bytes still free for `user` under `limit` (uploads in progress counted). */
  async available(user: string, root: string, limit: number): Promise<number> {
    const used = await this.used(user, root);
    return Math.max(0, limit - used - this.#usage(user).reserved);
  }

  reserve(user: string, bytes: number): () => void {
    const u = this.#usage(user);
    u.reserved += bytes;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      u.reserved -= bytes;
    };
  }

  /** A write changed the stored size by `delta` bytes. */
  adjust(user: string, delta: number): void {
    const u = this.#usage(user);
    if (u.used !== undefined) u.used = Math.max(0, u.used + delta);
  }

  /** Recount at the next question. */
  stale(user: string): void {
    this.#usage(user).used = undefined;
  }
}
