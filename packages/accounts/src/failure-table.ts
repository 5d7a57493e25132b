/**
 * The failed-login counts as rows of the accounts database: one row per key (`s:` source,
 * `u:` user, `p:` source and user) with its count and the time of its last failure. A row whose
 * last failure is older than the window counts as zero and is pruned at the next flush.
 */
import type { Database, Statement } from 'better-sqlite3';

export interface FailureRow {
  readonly count: number;
  readonly last_at: number;
}

/** What a flush writes for one key: a reset (success) first, then the failures added since. */
export interface FailureDelta {
  reset: boolean;
  add: number;
  /** Time of the last failure added (undefined when only released reservations are pending). */
  last: number | undefined;
}

export class FailureTable {
  readonly #db: Database;
  readonly #get: Statement<[string], FailureRow>;
  readonly #delete: Statement<[string]>;
  readonly #add: Statement<[{ key: string; add: number; last: number; expired: number }]>;
  readonly #subtract: Statement<[number, string]>;
  readonly #prune: Statement<[number]>;
  readonly #cap: Statement<[number]>;

  constructor(db: Database) {
    this.#db = db;
    this.#get = db.prepare('SELECT count, last_at FROM login_failures WHERE key = ?');
    this.#delete = db.prepare('DELETE FROM login_failures WHERE key = ?');
    this.#add = db.prepare(`
      INSERT INTO login_failures (key, count, last_at) VALUES (@key, @add, @last)
      ON CONFLICT (key) DO UPDATE SET
        count = (CASE WHEN login_failures.last_at > @expired THEN login_failures.count ELSE 0 END) + excluded.count,
        last_at = max(login_failures.last_at, excluded.last_at)`);
    this.#subtract = db.prepare('UPDATE login_failures SET count = max(0, count - ?) WHERE key = ?');
    this.#prune = db.prepare('DELETE FROM login_failures WHERE last_at <= ? OR count <= 0');
    this.#cap = db.prepare(`
      DELETE FROM login_failures WHERE key IN (SELECT key FROM login_failures ORDER BY last_at DESC LIMIT -1 OFFSET ?)`);
  }

  /** The row of `key`, however old. */
  get(key: string): FailureRow | undefined {
    return this.#get.get(key);
  }

  /**
   * Applies the deltas in one IMMEDIATE transaction, drops expired rows and, when `maxRows` is
   * given, the oldest rows beyond it. Waits at most `busyMs` for another process's transaction.
   */
  apply(deltas: ReadonlyMap<string, FailureDelta>, expiredBefore: number, maxRows: number | undefined, busyMs: number, restoreBusyMs: number): void {
    this.#db.pragma(`busy_timeout = ${busyMs}`);
    try {
      this.#db
        .transaction(() => {
          for (const [key, delta] of deltas) {
            if (delta.reset) this.#delete.run(key);
            if (delta.add > 0) this.#add.run({ key, add: delta.add, last: delta.last ?? 0, expired: expiredBefore });
            else if (delta.add < 0) this.#subtract.run(-delta.add, key);
          }
          this.#prune.run(expiredBefore);
          if (maxRows !== undefined) this.#cap.run(maxRows);
        })
        .immediate();
    } finally {
      this.#db.pragma(`busy_timeout = ${restoreBusyMs}`);
    }
  }
}
