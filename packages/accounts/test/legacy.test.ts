/**
 * The move of accounts out of a mail store made before they had their own file. The store's
 * tables are written here as that store wrote them (schema 2: `users` with the scrypt hash,
 * `apop_secrets` beside it), without loading any mail code.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Accounts } from '@hearth/accounts';
import { open, tempDir } from './helpers.js';

/** Written by the mail store's `addUser('alice', 'alice-pw')` with its default parameters. */
const ALICE_HASH = '$scrypt$ln=15,r=8,p=1$rScLzIly4btzieSH8N+1pw$DHaVL4SGOKbj8vUnhY5EJuufZ8JvTR3TgYN5YQvhC4I';
/** `addUser('bob', 'bob-pw')` with ln=4. */
const BOB_HASH = '$scrypt$ln=4,r=8,p=1$fbz/5CyTby/p2INOqojGLg$f0u6kp6SiLD0NvuyHixBSanpA5ZlYqv90bw6CzeS6U0';

/** The user tables of mail store schema 1 and 2, as that store created them. */
const V2_USERS = `
  CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE apop_secrets (
    user_id    INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret     TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
  INSERT INTO users VALUES (1, 'alice', '${ALICE_HASH}', 1796319378298, 1796319378298);
  INSERT INTO users VALUES (2, 'bob', '${BOB_HASH}', 1796319378308, 1796319378308);
  INSERT INTO apop_secrets VALUES (1, 'alice-apop', 1796319378299);
  PRAGMA user_version = 2;`;

/** What the mail store's schema 3 migration does to those tables. */
const TO_V3 = `
  CREATE TABLE legacy_credentials (name TEXT PRIMARY KEY, hash TEXT NOT NULL, apop TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL) STRICT;
  INSERT INTO legacy_credentials (name, hash, apop, created_at, updated_at)
    SELECT u.name, u.password_hash, a.secret, u.created_at, u.updated_at FROM users u LEFT JOIN apop_secrets a ON a.user_id = u.id;
  DROP TABLE apop_secrets;
  ALTER TABLE users DROP COLUMN password_hash;
  PRAGMA user_version = 3;`;

let dir: string;
let cleanup: () => Promise<void>;
let storeFile: string;
let accounts: Accounts | undefined;

function sql(file: string, text: string): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(text);
  db.close();
}

function query<T>(file: string, text: string): T[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(text).all() as T[];
  } finally {
    db.close();
  }
}

const openWithLegacy = (options = {}) => open(join(dir, 'accounts'), { legacyStore: storeFile, ...options });

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  await mkdir(join(dir, 'mail'));
  storeFile = join(dir, 'mail', 'store.db');
});
afterEach(async () => {
  await accounts?.close();
  accounts = undefined;
  await cleanup();
});

describe('moving accounts out of an old mail store', () => {
  it('takes the users of a schema 2 store with their hashes, APOP secrets and creation times', async () => {
    sql(storeFile, V2_USERS);
    accounts = await openWithLegacy({ create: false });
    expect(accounts.list().map((a) => [a.name, a.apop, a.admin, a.groups, a.createdAt.getTime()])).toEqual([
      ['alice', true, false, [], 1796319378298],
      ['bob', false, false, [], 1796319378308],
    ]);
    expect(await accounts.verifyPassword('alice', 'alice-pw')).toBe('alice');
    expect(await accounts.verifyPassword('bob', 'bob-pw')).toBe('bob');
    expect(accounts.getApopSecret('alice')).toBe('alice-apop');
  });

  it('moves them once: a user deleted afterwards stays deleted, and the store copy is cleared once the store sets it aside', async () => {
    sql(storeFile, V2_USERS);
    accounts = await openWithLegacy();
    accounts.remove('bob');
    await accounts.close();
    sql(storeFile, TO_V3); // the mail store opened by the new code
    expect(query(storeFile, 'SELECT name FROM legacy_credentials')).toHaveLength(2);
    accounts = await openWithLegacy();
    expect(accounts.list().map((a) => a.name)).toEqual(['alice']);
    expect(query(storeFile, 'SELECT name FROM legacy_credentials')).toEqual([]);
  });

  it('takes them from a store already at schema 3 and clears them there at once', async () => {
    sql(storeFile, V2_USERS + TO_V3);
    accounts = await openWithLegacy();
    expect(accounts.list().map((a) => [a.name, a.apop])).toEqual([
      ['alice', true],
      ['bob', false],
    ]);
    expect(await accounts.verifyPassword('alice', 'alice-pw')).toBe('alice');
    expect(query(storeFile, 'SELECT name FROM legacy_credentials')).toEqual([]);
    expect(query(storeFile, 'SELECT name FROM users ORDER BY name')).toEqual([{ name: 'alice' }, { name: 'bob' }]);
  });

  it('loses nothing when the move fails midway: nothing is taken, and the next open takes everything', async () => {
    sql(storeFile, V2_USERS);
    const file = join(dir, 'accounts', 'accounts.sqlite');
    await (await open(join(dir, 'accounts'))).close(); // an accounts file with no legacy store named: nothing to move
    sql(file, "DELETE FROM meta; CREATE TRIGGER crash BEFORE INSERT ON accounts WHEN NEW.name = 'bob' BEGIN SELECT RAISE(ABORT, 'crash'); END;");
    await expect(openWithLegacy()).rejects.toMatchObject({ code: 'STORAGE_ERROR', message: expect.stringContaining('crash') });
    expect(query(file, 'SELECT name FROM accounts')).toEqual([]);
    expect(query(file, 'SELECT key FROM meta')).toEqual([]);
    sql(file, 'DROP TRIGGER crash');
    accounts = await openWithLegacy();
    expect(accounts.list().map((a) => a.name)).toEqual(['alice', 'bob']);
    expect(accounts.getApopSecret('alice')).toBe('alice-apop');
  });

  it('with no old store, starts empty and never imports a store created later', async () => {
    accounts = await openWithLegacy();
    expect(accounts.list()).toEqual([]);
    await accounts.close();
    sql(storeFile, V2_USERS);
    accounts = await openWithLegacy();
    expect(accounts.list()).toEqual([]);
  });
});
