/**
 * WebDAV locks (RFC 4918 6-7), held in memory by the service instance: every request of the
 * instance sees the same table; a restart forgets them (clients refresh or re-lock, as they do after
 * a timeout). Locks are keyed by the absolute file path of their root, so the same folder reached
 * through two URLs has one lock; expired locks are dropped when looked at.
 */
import { randomUUID } from 'node:crypto';

export type LockScope = 'exclusive' | 'shared';

export interface Lock {
  readonly token: string;
  /** Absolute file path of the locked resource. */
  readonly path: string;
  /** Its href, for `lockroot` and 423 bodies. */
  readonly href: string;
  readonly scope: LockScope;
  readonly depth: '0' | 'infinity';
  /** The `owner` element's inner XML as the client sent it. */
  readonly owner: string;
  /** Who took it: only they may use or remove it. */
  readonly user: string;
  timeoutMs: number;
  expires: number;
}

function isBelow(path: string, dir: string): boolean {
  return path.startsWith(`${dir}/`);
}

export class LockTable {
  readonly #byToken = new Map<string, Lock>();

  #live(): Lock[] {
    const now = Date.now();
    const out: Lock[] = [];
    for (const lock of this.#byToken.values()) {
      if (lock.expires <= now) this.#byToken.delete(lock.token);
      else out.push(lock);
    }
    return out;
  }

  get(token: string): Lock | undefined {
    const lock = this.#byToken.get(token);
    if (lock && lock.expires <= Date.now()) {
      this.#byToken.delete(token);
      return undefined;
    }
    return lock;
  }

  /** Locks whose scope covers `path`: on it, or depth infinity on an ancestor. */
  covering(path: string): Lock[] {
    if (this.#byToken.size === 0) return [];
    return this.#live().filter((l) => l.path === path || (l.depth === 'infinity' && isBelow(path, l.path)));
  }

  /** Locks rooted strictly below `path`. */
  inside(path: string): Lock[] {
    if (this.#byToken.size === 0) return [];
    return this.#live().filter((l) => isBelow(l.path, path));
  }

  /** Locks rooted exactly at `path`. */
  at(path: string): Lock[] {
    if (this.#byToken.size === 0) return [];
    return this.#live().filter((l) => l.path === path);
  }

  /** The locks a new lock on `path` would conflict with. */
  conflicts(path: string, scope: LockScope, depth: '0' | 'infinity'): Lock[] {
    const near = [...this.covering(path), ...(depth === 'infinity' ? this.inside(path) : [])];
    return near.filter((l) => scope === 'exclusive' || l.scope === 'exclusive');
  }

  create(fields: Omit<Lock, 'token' | 'expires'>): Lock {
    const lock: Lock = { ...fields, token: `urn:uuid:${randomUUID()}`, expires: Date.now() + fields.timeoutMs };
    this.#byToken.set(lock.token, lock);
    return lock;
  }

  refresh(lock: Lock, timeoutMs: number): void {
    lock.timeoutMs = timeoutMs;
    lock.expires = Date.now() + timeoutMs;
  }

  remove(token: string): boolean {
    return this.#byToken.delete(token);
  }

  /** Drop locks on `path` and below (after DELETE or MOVE). */
  removeTree(path: string): void {
    for (const lock of this.#live()) if (lock.path === path || isBelow(lock.path, path)) this.#byToken.delete(lock.token);
  }
}
