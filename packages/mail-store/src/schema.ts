/**
 * The schema as an ordered list of migrations. `PRAGMA user_version` records how many have been
 * applied; opening the store applies the missing ones in one IMMEDIATE transaction, so two
 * processes opening a fresh store at once cannot both migrate.
 */
import { latestVersion, type Migration, type Schema } from '@hearth/sqlite';
import { MailStoreError } from './errors.js';

export type { Migration } from '@hearth/sqlite';

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'users, mailboxes, bodies, messages, maildrop locks',
    sql: `
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE users (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
      ) STRICT;

      -- APOP needs the secret in the clear: kept apart from the password hash, opt-in per user.
      CREATE TABLE apop_secrets (
        user_id    INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        secret     TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;

      -- Today every user has exactly one mailbox, 'INBOX' (the POP3 maildrop).
      CREATE TABLE mailboxes (
        id           INTEGER PRIMARY KEY,
        user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name         TEXT NOT NULL,
        uid_validity INTEGER NOT NULL,
        uid_next     INTEGER NOT NULL DEFAULT 1,
        created_at   INTEGER NOT NULL,
        UNIQUE (user_id, name)
      ) STRICT;

      -- One body per delivered message, shared by every recipient's message row. Small bodies
      -- are kept here (data); large ones are a file under bodies/ (file).
      CREATE TABLE bodies (
        id         INTEGER PRIMARY KEY,
        file       TEXT UNIQUE,
        data       BLOB,
        size       INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        CHECK ((file IS NULL) <> (data IS NULL))
      ) STRICT;

      CREATE TABLE messages (
        id         INTEGER PRIMARY KEY,
        mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id),
        uid        INTEGER NOT NULL,
        body_id    INTEGER NOT NULL REFERENCES bodies(id),
        size       INTEGER NOT NULL,
        arrived_at INTEGER NOT NULL,
        UNIQUE (mailbox_id, uid)
      ) STRICT;
      CREATE INDEX messages_body ON messages (body_id);

      CREATE TABLE maildrop_locks (
        mailbox_id  INTEGER PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
        holder      TEXT NOT NULL,
        pid         INTEGER NOT NULL,
        pid_start   TEXT NOT NULL,
        acquired_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    description: 'a per-mailbox count of deleted messages, kept by a trigger (maildrop versions)',
    sql: `
      -- With uid_next (raised by every delivery) it tells whether a maildrop changed since a
      -- listing was read. A trigger, so that every writer keeps it, whatever its code does.
      ALTER TABLE mailboxes ADD COLUMN expunged INTEGER NOT NULL DEFAULT 0;
      CREATE TRIGGER messages_expunged AFTER DELETE ON messages BEGIN
        UPDATE mailboxes SET expunged = expunged + 1 WHERE id = OLD.mailbox_id;
      END;
    `,
  },
  {
    version: 3,
    description: 'accounts move to @hearth/accounts: users keep only their names',
    sql: `
      -- The credentials of schema 1 and 2, set aside for @hearth/accounts to import once (it then
      -- empties this table). Nothing in the store reads them.
      CREATE TABLE legacy_credentials (
        name       TEXT PRIMARY KEY,
        hash       TEXT NOT NULL,
        apop       TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      INSERT INTO legacy_credentials (name, hash, apop, created_at, updated_at)
        SELECT u.name, u.password_hash, a.secret, u.created_at, u.updated_at
          FROM users u LEFT JOIN apop_secrets a ON a.user_id = u.id;
      DROP TABLE apop_secrets;
      ALTER TABLE users DROP COLUMN password_hash;
    `,
  },
];

export const SCHEMA_VERSION = latestVersion(MIGRATIONS);

/** For `openDatabase` of `@hearth/sqlite`. */
export const SCHEMA: Schema = {
  name: 'mail store',
  migrations: MIGRATIONS,
  tooNew: (message) => new MailStoreError('SCHEMA_TOO_NEW', message),
};
