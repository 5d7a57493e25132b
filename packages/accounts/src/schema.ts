/**
 * The accounts database's schema as an ordered list of migrations (`PRAGMA user_version` counts
 * the applied ones), applied in one IMMEDIATE transaction at open.
 */
import { latestVersion, type Migration, type Schema } from '@hearth/sqlite';
import { AccountsError } from './errors.js';

export type { Migration } from '@hearth/sqlite';

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

export const SCHEMA_VERSION = latestVersion(MIGRATIONS);

/** For `openDatabase` of `@hearth/sqlite`. */
export const SCHEMA: Schema = {
  name: 'accounts',
  migrations: MIGRATIONS,
  tooNew: (message) => new AccountsError('SCHEMA_TOO_NEW', message),
};
