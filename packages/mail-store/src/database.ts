/** Opening the SQLite index: pragmas for several processes sharing one store, then migrations. */
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { migrate } from './schema.js';

export function openDatabase(file: string, busyTimeoutMs: number): Db {
  const db = new Database(file, { timeout: busyTimeoutMs });
  try {
    db.pragma('journal_mode = WAL');
    // FULL: every commit syncs the WAL before it returns, so a resolved delivery survives a crash
    // or power loss; group commit amortises that sync over concurrent deliveries.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Runs `run` with `PRAGMA synchronous = NORMAL` on `db` and puts FULL back afterwards, even if it
 * throws. In WAL mode a commit under NORMAL does not wait for an fsync: it may be lost in a power
 * failure but never leaves the database inconsistent, and the next FULL commit syncs it too. Only
 * for writes whose loss in a crash does not matter (see MailStore's maildrop locks).
 */
export function withoutSync<T>(db: Db, run: () => T): T {
  // db.pragma, not a prepared statement: SQLite applies this pragma when it compiles it.
  db.pragma('synchronous = NORMAL');
  try {
    return run();
  } finally {
    db.pragma('synchronous = FULL');
  }
}
