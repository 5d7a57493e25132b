import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { MIGRATIONS, MailStoreError, SCHEMA_VERSION, isValidUserName } from '@hearth/mail-store';
import type { MailStore } from '@hearth/mail-store';
import { open, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: MailStore;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  store = await open(dir);
});
afterEach(async () => {
  await store.close();
  await cleanup();
});

describe('schema', () => {
  it('migrates an empty directory to the latest version in WAL mode, and reopens without change', async () => {
    const db = new Database(join(dir, 'store.db'), { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    expect(tables).toEqual(['bodies', 'legacy_credentials', 'mailboxes', 'maildrop_locks', 'messages', 'meta', 'users']);
    expect(db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('users')).toEqual(['id', 'name', 'created_at', 'updated_at']);
    db.close();
    store.addMaildrop('alice');
    await store.close();
    store = await open(dir);
    expect(store.hasMaildrop('alice')).toBe(true);
  });

  it('sets the credentials of a schema 2 store aside and keeps its maildrops and mail', async () => {
    await store.close();
    const old = join(dir, 'old');
    const db = new Database(join(dir, 'old.db'));
    for (const migration of MIGRATIONS.filter((m) => m.version <= 2)) db.exec(migration.sql);
    db.pragma('user_version = 2');
    db.exec(`INSERT INTO users VALUES (1, 'alice', '$scrypt$ln=4,r=8,p=1$c2FsdA$aGFzaA', 10, 20);
             INSERT INTO apop_secrets VALUES (1, 'apop', 30);
             INSERT INTO mailboxes (id, user_id, name, uid_validity, uid_next, created_at) VALUES (1, 1, 'INBOX', 7, 2, 10);
             INSERT INTO bodies VALUES (1, NULL, CAST('hi\r\n' AS BLOB), 4, 40);
             INSERT INTO messages VALUES (1, 1, 1, 1, 4, 40);`);
    db.close();
    const { mkdir, rename } = await import('node:fs/promises');
    await mkdir(old);
    await rename(join(dir, 'old.db'), join(old, 'store.db'));
    store = await open(old);
    expect(store.listMaildrops().map((m) => [m.name, m.messages, m.size])).toEqual([['alice', 1, 4]]);
    expect(store.listMessages('alice').map((m) => m.uidl)).toEqual(['0000000100000007']);
    const check = new Database(join(old, 'store.db'), { readonly: true });
    expect(check.prepare('SELECT * FROM legacy_credentials').all()).toEqual([
      { name: 'alice', hash: '$scrypt$ln=4,r=8,p=1$c2FsdA$aGFzaA', apop: 'apop', created_at: 10, updated_at: 20 },
    ]);
    check.close();
  });

  it('refuses a store written by a newer schema', async () => {
    await store.close();
    const db = new Database(join(dir, 'store.db'));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    await expect(open(dir)).rejects.toMatchObject({ code: 'SCHEMA_TOO_NEW' });
    store = await open(join(dir, 'other'));
  });

  it('does not create a store when told not to', async () => {
    await expect(open(join(dir, 'missing'), { create: false })).rejects.toMatchObject({ code: 'STORE_MISSING' });
  });
});

describe('maildrops', () => {
  it('creates one maildrop per user name, once, and lists them', async () => {
    expect(store.addMaildrop('Alice')).toBe(true);
    expect(store.addMaildrop('alice')).toBe(false);
    expect(store.hasMaildrop('ALICE')).toBe(true);
    expect(store.hasMaildrop('bad name!')).toBe(false);
    store.addMaildrop('bob');
    await store.deliver({ recipients: ['bob'], body: 'Subject: x\r\n\r\nhi\r\n' });
    expect(store.listMaildrops().map((m) => [m.name, m.messages, m.size])).toEqual([
      ['alice', 0, 0],
      ['bob', 1, 18],
    ]);
  });

  it('rejects bad names and unknown users with clear errors', async () => {
    for (const name of ['', '-x', 'a b', 'a@b', 'x'.repeat(65), 'a..b', 'dot.']) {
      expect(() => store.addMaildrop(name)).toThrow(expect.objectContaining({ code: 'BAD_USER_NAME' }));
      expect(isValidUserName(name)).toBe(false);
    }
    await expect(store.deleteMaildrop('carol')).rejects.toMatchObject({ code: 'NO_SUCH_USER', message: 'no such user: carol' });
    await expect(store.deleteMaildrop('carol')).rejects.toBeInstanceOf(MailStoreError);
  });

  it('deletes an empty maildrop, refuses a full one without purge, purges with it', async () => {
    store.addMaildrop('alice');
    store.addMaildrop('bob');
    await store.deleteMaildrop('alice');
    expect(store.hasMaildrop('alice')).toBe(false);
    await store.deliver({ recipients: ['bob'], body: 'Subject: x\r\n\r\nhi\r\n' });
    await expect(store.deleteMaildrop('bob')).rejects.toMatchObject({
      code: 'MAILDROP_NOT_EMPTY',
      message: 'the maildrop of bob holds 1 message: purge them to delete the user',
    });
    expect(store.hasMaildrop('bob')).toBe(true);
    expect(await store.deleteMaildrop('bob', { purge: true })).toEqual({ purged: 1 });
    expect(store.hasMaildrop('bob')).toBe(false);
  });

  it('a re-created user never sees the UIDLs of the deleted one', async () => {
    store.addMaildrop('alice');
    const [first] = await store.deliver({ recipients: ['alice'], body: 'a\r\n' });
    await store.deleteMaildrop('alice', { purge: true });
    store.addMaildrop('alice');
    const [second] = await store.deliver({ recipients: ['alice'], body: 'a\r\n' });
    expect(second?.uid).toBe(1);
    expect(second?.uidl).not.toBe(first?.uidl);
  });
});
