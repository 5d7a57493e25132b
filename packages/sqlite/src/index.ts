/**
 * Opening a SQLite file that several processes share: the pragmas every Hearth database uses,
 * then the database's own migrations, counted by `PRAGMA user_version` and applied in one
 * IMMEDIATE transaction, so two processes opening a fresh file at once cannot both migrate.
 */
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export interface Schema {
  /** What the file holds, for the error below (`mail store`, `accounts`). */
  readonly name: string;
  /** Ordered by version; `PRAGMA user_version` is the last one applied. */
  readonly migrations: readonly Migration[];
  /** Wraps the message for a file newer than the last migration in the caller's own error. */
  readonly tooNew: (message: string) => Error;
}

/** The version of the last migration (0 for none): what a migrated file is at. */
export function latestVersion(migrations: readonly Migration[]): number {
  return migrations[migrations.length - 1]?.version ?? 0;
}

/** Applies the missing migrations; returns the version the file is at afterwards. */
export function migrate(db: Db, schema: Schema): number {
  const latest = latestVersion(schema.migrations);
  const run = db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > latest) {
      throw schema.tooNew(
        `${schema.name} schema is version ${current}, newer than this Hearth understands (${latest}): upgrade Hearth`,
      );
    }
    for (const migration of schema.migrations) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }
    return db.pragma('user_version', { simple: true }) as number;
  });
  return run.immediate();
}

/**
 * Opens (creating if needed) `file` in WAL mode with `synchronous = FULL` (every commit syncs the
 * WAL before it returns, so a resolved write survives a crash or power loss) and foreign keys on,
 * then migrates it. Waits up to `busyTimeoutMs` for another process's lock. Closes the file if
 * any step fails.
 */
export function openDatabase(file: string, busyTimeoutMs: number, schema: Schema): Db {
  const db = new Database(file, { timeout: busyTimeoutMs });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, schema);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

export { isDiskFull, RESERVE_BYTES, SpaceReserve } from './reserve.js';
