/**
 * The accounts database's schema as an ordered list of migrations (`PRAGMA user_version` counts
 * the applied ones), applied in one IMMEDIATE transaction at open.
 */
import type { Database } from 'better-sqlite3';
import { AccountsError } from './errors.js';

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'accounts, their groups, APOP secrets',
    sql: `
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      CREATE TABLE accounts (
        name          TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        admin         INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE account_groups (
        account    TEXT NOT NULL REFERENCES accounts(name) ON DELETE CASCADE,
        group_name TEXT NOT NULL,
        PRIMARY KEY (account, group_name)
      ) STRICT;
      CREATE INDEX account_groups_by_group ON account_groups (group_name);

      -- APOP needs the secret in the clear: kept apart from the password hash, opt-in per user.
      CREATE TABLE apop_secrets (
        account    TEXT PRIMARY KEY REFERENCES accounts(name) ON DELETE CASCADE,
        secret     TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number {
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  const run = db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > latest) {
      throw new AccountsError(
        'SCHEMA_TOO_NEW',
        `accounts schema is version ${current}, newer than this Hearth understands (${latest}): upgrade Hearth`,
      );
    }
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }
    return db.pragma('user_version', { simple: true }) as number;
  });
  return run.immediate();
}
