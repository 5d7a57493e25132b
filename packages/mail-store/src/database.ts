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
