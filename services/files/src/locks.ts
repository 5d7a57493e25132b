/**
 * WebDAV locks (RFC 4918 6-7), kept in a SQLite database in the data directory
 * (`DATA/files/locks.db`, WAL), so that every instance of the service sees the same locks: a token
 * given out before a restart or an upgrade is still known after it, and an old instance that is
 * still draining and the new one that replaced it check against one table. Locks are keyed by the
 * absolute file path of their root, so the same folder reached through two URLs has one lock.
 *
 * Reads come from a copy of the table in memory, reloaded when another connection (another
 * instance) has committed a change (`PRAGMA data_version`, checked at most once per synchronous
 * run of code, so a PROPFIND of a large folder costs one check per batch, not one per member).
 * Creating a lock checks for conflicts and inserts in one IMMEDIATE transaction, so two instances
 * cannot both grant conflicting locks. Expired locks are ignored at once and deleted from the file
 * at the next write.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database as Db, Statement } from 'better-sqlite3';
import { openDatabase, type Schema } from '@hearth/sqlite';

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

export type LockFields = Omit<Lock, 'token' | 'expires'>;

const SCHEMA: Schema = {
  name: 'file locks',
  migrations: [
    {
      version: 1,
      description: 'locks by token, with their root path',
      sql: `
        CREATE TABLE locks (
          token      TEXT PRIMARY KEY,
          path       TEXT NOT NULL,
          href       TEXT NOT NULL,
          scope      TEXT NOT NULL CHECK (scope IN ('exclusive', 'shared')),
          depth      TEXT NOT NULL CHECK (depth IN ('0', 'infinity')),
          owner      TEXT NOT NULL,
          user       TEXT NOT NULL,
          timeout_ms INTEGER NOT NULL,
          expires    INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX locks_by_expiry ON locks (expires);
      `,
    },
  ],
  tooNew: (message) => new Error(message),
};

interface Row {
  token: string;
  path: string;
  href: string;
  scope: LockScope;
  depth: '0' | 'infinity';
  owner: string;
  user: string;
  timeout_ms: number;
  expires: number;
}

function isBelow(path: string, dir: string): boolean {
  return path.startsWith(`${dir}/`);
}

function conflicting(live: Iterable<Lock>, path: string, scope: LockScope, depth: '0' | 'infinity'): Lock[] {
  const out: Lock[] = [];
  for (const l of live) {
    const near = l.path === path || (l.depth === 'infinity' && isBelow(path, l.path)) || (depth === 'infinity' && isBelow(l.path, path));
    if (near && (scope === 'exclusive' || l.scope === 'exclusive')) out.push(l);
  }
  return out;
}

export type CreateResult = { readonly ok: true; readonly lock: Lock } | { readonly ok: false; readonly conflicts: readonly Lock[] };

export class LockTable {
  readonly #db: Db;
  readonly #all: Statement<[], Row>;
  readonly #version: Statement<[], number>;
  readonly #insert: Statement<[Row]>;
  readonly #purge: Statement<[number]>;
  readonly #refresh: Statement<[number, number, string]>;
  readonly #remove: Statement<[string]>;
  readonly #removeTree: Statement<[string, string, string]>;
  #byToken = new Map<string, Lock>();
  #seen = -1;
  #checked = false;

  /** Opens (creating if needed) the lock database at `file`. */
  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.#db = openDatabase(file, 5000, SCHEMA);
    this.#all = this.#db.prepare<[], Row>('SELECT * FROM locks');
    this.#version = this.#db.prepare<[], number>('PRAGMA data_version').pluck();
    this.#insert = this.#db.prepare<[Row]>(
      'INSERT INTO locks (token, path, href, scope, depth, owner, user, timeout_ms, expires) VALUES (@token, @path, @href, @scope, @depth, @owner, @user, @timeout_ms, @expires)',
    );
    this.#purge = this.#db.prepare<[number]>('DELETE FROM locks WHERE expires <= ?');
    this.#refresh = this.#db.prepare<[number, number, string]>('UPDATE locks SET timeout_ms = ?, expires = ? WHERE token = ?');
    this.#remove = this.#db.prepare<[string]>('DELETE FROM locks WHERE token = ?');
    this.#removeTree = this.#db.prepare<[string, string, string]>('DELETE FROM locks WHERE path = ? OR (path >= ? AND path < ?)');
    this.#load();
  }

  #load(): void {
    const next = new Map<string, Lock>();
    for (const r of this.#all.all()) {
      next.set(r.token, { token: r.token, path: r.path, href: r.href, scope: r.scope, depth: r.depth, owner: r.owner, user: r.user, timeoutMs: r.timeout_ms, expires: r.expires });
    }
    this.#byToken = next;
  }

  /** Reload when another connection changed the file since the last look (once per synchronous run). */
  #sync(): void {
    if (this.#checked) return;
    this.#checked = true;
    queueMicrotask(() => (this.#checked = false));
    const version = this.#version.get()!;
    if (version !== this.#seen) {
      this.#seen = version;
      this.#load();
    }
  }

  #live(): Lock[] {
    this.#sync();
    const now = Date.now();
    const out: Lock[] = [];
    for (const lock of this.#byToken.values()) if (lock.expires > now) out.push(lock);
    return out;
  }

  get(token: string): Lock | undefined {
    this.#sync();
    const lock = this.#byToken.get(token);
    return lock && lock.expires > Date.now() ? lock : undefined;
  }

  /** Locks whose scope covers `path`: on it, or depth infinity on an ancestor. */
  covering(path: string): Lock[] {
    return this.#live().filter((l) => l.path === path || (l.depth === 'infinity' && isBelow(path, l.path)));
  }

  /** Locks rooted strictly below `path`. */
  inside(path: string): Lock[] {
    return this.#live().filter((l) => isBelow(l.path, path));
  }

  /** Locks rooted exactly at `path`. */
  at(path: string): Lock[] {
    return this.#live().filter((l) => l.path === path);
  }

  /** The locks a new lock on `path` would conflict with. */
  conflicts(path: string, scope: LockScope, depth: '0' | 'infinity'): Lock[] {
    return conflicting(this.#live(), path, scope, depth);
  }

  /** Grant a lock unless one conflicts, checked against the file in the same transaction. */
  create(fields: LockFields): CreateResult {
    const now = Date.now();
    const lock: Lock = { ...fields, token: `urn:uuid:${randomUUID()}`, expires: now + fields.timeoutMs };
    const result = this.#db
      .transaction((): CreateResult => {
        this.#purge.run(now);
        this.#load();
        const conflicts = conflicting(this.#byToken.values(), lock.path, lock.scope, lock.depth);
        if (conflicts.length > 0) return { ok: false, conflicts };
        this.#insert.run({ ...lock, timeout_ms: lock.timeoutMs });
        return { ok: true, lock };
      })
      .immediate();
    if (result.ok) this.#byToken.set(lock.token, lock);
    return result;
  }

  /** A new timeout from now; the lock keeps its old one when it cannot be stored (a full disk). */
  refresh(lock: Lock, timeoutMs: number): void {
    const expires = Date.now() + timeoutMs;
    this.#refresh.run(timeoutMs, expires, lock.token);
    lock.timeoutMs = timeoutMs;
    lock.expires = expires;
  }

  remove(token: string): boolean {
    const removed = this.#remove.run(token).changes > 0;
    this.#byToken.delete(token);
    return removed;
  }

  /** Drop locks on `path` and below (after DELETE or MOVE). */
  removeTree(path: string): void {
    this.#removeTree.run(path, `${path}/`, `${path}0`);
    for (const lock of this.#byToken.values()) if (lock.path === path || isBelow(lock.path, path)) this.#byToken.delete(lock.token);
  }

  close(): void {
    this.#db.close();
  }
}
