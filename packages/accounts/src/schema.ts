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
  {
    version: 2,
    description: 'failed-login counts (the login policy), kept across restarts',
    sql: `
      -- key: 's:' source address, 'u:' user name, 'p:' source and user; expired rows are pruned.
      CREATE TABLE login_failures (
        key     TEXT PRIMARY KEY,
        count   INTEGER NOT NULL,
        last_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX login_failures_by_time ON login_failures (last_at);
    `,
  },
  {
    version: 3,
    description: 'accounts that may not log in (disabled, with a reason), every account enabled',
    sql: `
      -- disabled_at NULL: the account may log in. access_changes counts disables and enables, so
      -- that the credential stamp after an enable is not the one from before the disable.
      ALTER TABLE accounts ADD COLUMN disabled_at INTEGER;
      ALTER TABLE accounts ADD COLUMN disabled_reason TEXT CHECK (length(disabled_reason) <= 200);
      ALTER TABLE accounts ADD COLUMN access_changes INTEGER NOT NULL DEFAULT 0;
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
