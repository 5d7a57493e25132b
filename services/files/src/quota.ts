/**
 * Quotas on folders: each user's home folder and shares with a `quota` (RFC 4331 properties, 507
 * when exceeded), counted per folder. The counts live in a SQLite database in the data directory
 * (`DATA/files/quota.db`, WAL), so every instance of the service counts against the same figures:
 * while an old instance drains with uploads in progress, the one that replaced it sees their
 * reservations and what they wrote.
 *
 * The bytes used are counted by walking the folder once (`treeBytes`: through open folders, links
 * not followed, upload temporaries not counted, since their uploads reserve what they declared), then kept up to date by the writes that go through
 * the service; a COPY, MOVE or DELETE of a folder marks the count stale and the next question walks
 * again. Space promised to an upload in progress is reserved, and the check and the reservation
 * are one IMMEDIATE transaction, so two uploads (in one instance or two) cannot together pass the
 * limit. A reservation names its process by pid and start time: those of a process that is gone
 * (a kill -9), or whose pid another process now has, are dropped when the database is opened and
 * whenever an upload would not fit with them.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database as Db, Statement } from 'better-sqlite3';
import { isProcessAlive, selfStartTime } from '@hearth/process';
import { openDatabase, type Schema } from '@hearth/sqlite';
import { treeBytes } from './tree.js';

const SCHEMA: Schema = {
  name: 'file quotas',
  migrations: [
    {
      version: 1,
      description: 'bytes used per folder, and reservations of uploads in progress',
      sql: `
        CREATE TABLE usage (
          root TEXT PRIMARY KEY,
          used INTEGER NOT NULL CHECK (used >= 0)
        ) STRICT;
        CREATE TABLE reservations (
          id    INTEGER PRIMARY KEY,
          root  TEXT NOT NULL,
          bytes INTEGER NOT NULL CHECK (bytes >= 0),
          pid   INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX reservations_by_root ON reservations (root);
      `,
    },
    {
      version: 2,
      description: "a reservation's process start time, so that a pid used again is not taken for its holder",
      // As @hearth/process records it; '?' (unknown: taken by a version that did not record it) lets
      // the pid alone say whether its holder runs.
      sql: `ALTER TABLE reservations ADD COLUMN started TEXT NOT NULL DEFAULT '?';`,
    },
  ],
  tooNew: (message) => new Error(message),
};

/** How far a reservation grows ahead of a body of undeclared length (one transaction per step). */
const GROW_AHEAD = 64 * 1024 * 1024;

/** A reservation taken, or none when it did not fit. */
export type Reservation = { readonly ok: true; grow(bytes: number): boolean; release(): void } | { readonly ok: false };

export class Quotas {
  readonly #db: Db;
  readonly #used: Statement<[string], { used: number }>;
  readonly #setUsed: Statement<[string, number]>;
  readonly #reserved: Statement<[string], { bytes: number }>;
  readonly #insert: Statement<[string, number, number, string]>;
  readonly #holders: Statement<[], { pid: number; started: string }>;
  readonly #dropHolder: Statement<[number, string]>;
  readonly #release: Statement<[number | bigint]>;
  readonly #resize: Statement<[number, number | bigint]>;
  readonly #adjust: Statement<[number, string]>;
  readonly #stale: Statement<[string]>;
  /** Walks under way in this instance, by folder. */
  readonly #counting = new Map<string, Promise<number>>();

  /** Opens (creating if needed) the quota database at `file`. */
  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.#db = openDatabase(file, 5000, SCHEMA);
    // Reservations are gone with their process and a count can be walked again: a commit need not
    // wait for the disk (WAL with NORMAL survives a crash of the process, not of the machine).
    this.#db.pragma('synchronous = NORMAL');
    this.#used = this.#db.prepare<[string], { used: number }>('SELECT used FROM usage WHERE root = ?');
    this.#setUsed = this.#db.prepare<[string, number]>('INSERT OR IGNORE INTO usage (root, used) VALUES (?, ?)');
    this.#reserved = this.#db.prepare<[string], { bytes: number }>('SELECT coalesce(sum(bytes), 0) AS bytes FROM reservations WHERE root = ?');
    this.#insert = this.#db.prepare<[string, number, number, string]>('INSERT INTO reservations (root, bytes, pid, started) VALUES (?, ?, ?, ?)');
    this.#release = this.#db.prepare<[number | bigint]>('DELETE FROM reservations WHERE id = ?');
    this.#resize = this.#db.prepare<[number, number | bigint]>('UPDATE reservations SET bytes = ? WHERE id = ?');
    this.#adjust = this.#db.prepare<[number, string]>('UPDATE usage SET used = max(0, used + ?) WHERE root = ?');
    this.#stale = this.#db.prepare<[string]>('DELETE FROM usage WHERE root = ?');
    this.#holders = this.#db.prepare<[], { pid: number; started: string }>('SELECT DISTINCT pid, started FROM reservations');
    this.#dropHolder = this.#db.prepare<[number, string]>('DELETE FROM reservations WHERE pid = ? AND started = ?');
    this.#dropGone();
  }

  /** Drops the reservations of processes that no longer run. */
  #dropGone(): void {
    for (const { pid, started } of this.#holders.all()) if (!isProcessAlive(pid, started)) this.#dropHolder.run(pid, started);
  }

  /** Bytes stored in the folder `root` (walked when no instance knows). */
  async used(root: string): Promise<number> {
    const known = this.#used.get(root);
    if (known !== undefined) return known.used;
    let counting = this.#counting.get(root);
    if (counting === undefined) {
      counting = treeBytes(root).finally(() => this.#counting.delete(root));
      this.#counting.set(root, counting);
    }
    const n = await counting;
    // Another instance may have counted meanwhile: the first count stored is everyone's.
    this.#setUsed.run(root, n);
    return this.#used.get(root)?.used ?? n;
  }

  /** Bytes still free in `root` under `limit`, uploads in progress (of every instance) counted. */
  async available(root: string, limit: number): Promise<number> {
    return Math.max(0, limit - (await this.used(root)) - this.#reserved.get(root)!.bytes);
  }

  /**
   * Reserve `bytes` in `root` under `limit` when they fit in what is free plus `credit` (bytes the
   * write replaces).
   * `grow(n)` makes the reservation at least `n` bytes when they fit, for a body whose length was
   * not declared: it is reserved as it arrives, ahead by `GROW_AHEAD` or half of what is left.
   */
  async reserve(root: string, limit: number, bytes: number, credit = 0): Promise<Reservation> {
    const used = await this.used(root);
    const freeNow = (): number => Math.max(0, limit - (this.#used.get(root)?.used ?? used) - this.#reserved.get(root)!.bytes) + credit;
    // What does not fit is checked again without the reservations of processes that are gone.
    const fits = (n: number): boolean => {
      if (n <= freeNow()) return true;
      this.#dropGone();
      return n <= freeNow();
    };
    const take = this.#db.transaction((): Reservation => {
      if (!fits(bytes)) return { ok: false };
      const id = this.#insert.run(root, bytes, process.pid, selfStartTime()).lastInsertRowid;
      let held = bytes;
      let released = false;
      // At least `n`, and ahead by `GROW_AHEAD` (one transaction per step, not per chunk), or by
      // half of what is left when that is less, so that uploads alongside still find room.
      const grow = this.#db.transaction((n: number): boolean => {
        if (n <= held) return true;
        if (released || !fits(n - held)) return false;
        const left = freeNow() - (n - held);
        held = n + Math.min(GROW_AHEAD, Math.floor(left / 2));
        this.#resize.run(held, id);
        return true;
      });
      return {
        ok: true,
        grow: (n) => n <= held || grow.immediate(n),
        // Released once its row is gone: a release that failed (a full disk) can be tried again.
        release: () => {
          if (released) return;
          this.#release.run(id);
          released = true;
        },
      };
    });
    return take.immediate();
  }

  /** A write changed the stored size by `delta` bytes. */
  adjust(root: string, delta: number): void {
    this.#adjust.run(delta, root);
  }

  /** Recount at the next question. */
  stale(root: string): void {
    this.#stale.run(root);
  }

  close(): void {
    this.#db.close();
  }
}
