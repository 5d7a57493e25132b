/**
 * The one-time move of accounts out of a mail store made before this package existed. Such a
 * store (DATA/mail/store.db) kept each user's name, scrypt hash and times in its `users` table and
 * APOP secrets in `apop_secrets` (store schema 1 and 2); from schema 3 on the store moves those
 * rows to `legacy_credentials` and keeps only names. Both shapes are read here with plain SQL, so
 * this package loads no mail code.
 *
 * The copy is one IMMEDIATE transaction on the accounts database that also records that it
 * happened (`meta.legacy_import`): a crash before its commit leaves nothing done, to be redone at
 * the next open; after it, never again (a user deleted later is not brought back). The store's
 * copy of the credentials is deleted afterwards, at this open or a later one (`legacy_cleared`):
 * it was never the only copy by then.
 */
import { existsSync } from 'node:fs';
import type { Database } from 'better-sqlite3';

interface LegacyRow {
  readonly name: string;
  readonly hash: string;
  readonly apop: string | null;
  readonly created_at: number;
  readonly updated_at: number;
}

const IMPORTED = 'legacy_import';
const CLEARED = 'legacy_cleared';

/** From store schema 3 on: the credentials the store set aside for this import. */
const FROM_V3 = 'SELECT name, hash, apop, created_at, updated_at FROM legacy.legacy_credentials';
/** Store schema 1 and 2: users with their hashes, APOP secrets beside them. */
const FROM_V1 = `SELECT u.name, u.password_hash AS hash, a.secret AS apop, u.created_at, u.updated_at
                   FROM legacy.users u LEFT JOIN legacy.apop_secrets a ON a.user_id = u.id`;

export interface LegacyImport {
  /** Accounts copied by this call (0 when done before or nothing to copy). */
  readonly imported: number;
}

const getMeta = (db: Database, key: string): string | undefined =>
  db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined;

const setMeta = (db: Database, key: string, value: string): void => {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
};

/**
 * Imports the accounts kept in the mail store `storeFile` once, then clears them there. Without
 * such a file (a new data dir), records that there is nothing to import.
 */
export function importLegacyAccounts(db: Database, storeFile: string | undefined): LegacyImport {
  if (getMeta(db, IMPORTED) !== undefined && getMeta(db, CLEARED) !== undefined) return { imported: 0 };
  if (storeFile === undefined || !existsSync(storeFile)) {
    db.transaction(() => {
      if (getMeta(db, IMPORTED) === undefined) setMeta(db, IMPORTED, 'none');
      setMeta(db, CLEARED, 'none');
    }).immediate();
    return { imported: 0 };
  }
  db.prepare('ATTACH DATABASE ? AS legacy').run(storeFile);
  try {
    const imported = db
      .transaction(() => {
        if (getMeta(db, IMPORTED) !== undefined) return 0;
        const version = shape(db);
        const rows = version === 0 ? [] : (db.prepare(version >= 3 ? FROM_V3 : FROM_V1).all() as LegacyRow[]);
        const account = db.prepare(
          'INSERT OR IGNORE INTO accounts (name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)',
        );
        const apop = db.prepare('INSERT OR IGNORE INTO apop_secrets (account, secret, updated_at) VALUES (?, ?, ?)');
        for (const row of rows) {
          account.run(row.name, row.hash, row.created_at, row.updated_at);
          if (row.apop !== null) apop.run(row.name, row.apop, row.updated_at);
        }
        setMeta(db, IMPORTED, String(Date.now()));
        return rows.length;
      })
      .immediate();
    clearLegacy(db);
    return { imported };
  } finally {
    db.prepare('DETACH DATABASE legacy').run();
  }
}

/** The store's schema version (its `PRAGMA user_version`); 0 for an empty file. */
function shape(db: Database): number {
  return db.pragma('legacy.user_version', { simple: true }) as number;
}

/**
 * Deletes the credentials a store of schema 3 or later set aside, once they are imported. A store
 * still at schema 1 or 2 keeps them until it is opened by the mail store (which moves them into
 * `legacy_credentials`); a later open clears them then.
 */
function clearLegacy(db: Database): void {
  if (shape(db) < 3) return;
  db.transaction(() => {
    if (getMeta(db, CLEARED) !== undefined) return;
    db.prepare('DELETE FROM legacy.legacy_credentials').run();
    setMeta(db, CLEARED, String(Date.now()));
  }).immediate();
}
