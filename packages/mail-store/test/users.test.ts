import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { MailStoreError, SCHEMA_VERSION, isValidUserName } from '@hearth/mail-store';
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
    expect(tables).toEqual(['apop_secrets', 'bodies', 'mailboxes', 'maildrop_locks', 'messages', 'meta', 'users']);
    db.close();
    await store.addUser('alice', 'secret');
    await store.close();
    store = await open(dir);
    expect(store.hasUser('alice')).toBe(true);
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

describe('users', () => {
  it('adds, verifies, changes and lists users', async () => {
    await store.addUser('Alice', 'correct horse');
    expect(store.hasUser('alice')).toBe(true);
    expect(store.hasUser('ALICE')).toBe(true);
    expect(await store.verifyPassword('alice', 'correct horse')).toBe(true);
    expect(await store.verifyPassword('alice', 'wrong')).toBe(false);
    expect(await store.verifyPassword('nobody', 'correct horse')).toBe(false);
    expect(await store.verifyPassword('bad name!', 'x')).toBe(false);
    await store.setPassword('alice', 'battery staple');
    expect(await store.verifyPassword('alice', 'correct horse')).toBe(false);
    expect(await store.verifyPassword('alice', 'battery staple')).toBe(true);
    await store.addUser('bob', 'pw');
    expect(store.listUsers().map((u) => [u.name, u.messages, u.size, u.apop])).toEqual([
      ['alice', 0, 0, false],
      ['bob', 0, 0, false],
    ]);
  });

  it('stores scrypt hashes in a PHC string with a salt per user', async () => {
    await store.addUser('alice', 'same');
    await store.addUser('bob', 'same');
    const db = new Database(join(dir, 'store.db'), { readonly: true });
    const hashes = db.prepare('SELECT password_hash FROM users ORDER BY name').pluck().all() as string[];
    db.close();
    for (const hash of hashes) expect(hash).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(hashes[0]).not.toBe(hashes[1]);
  });

  it('rejects bad names, duplicate users, empty passwords, and unknown users with clear errors', async () => {
    for (const name of ['', '-x', 'a b', 'a@b', 'x'.repeat(65), 'a..b', 'dot.']) {
      await expect(store.addUser(name, 'pw')).rejects.toMatchObject({ code: 'BAD_USER_NAME' });
      expect(isValidUserName(name)).toBe(false);
    }
    await store.addUser('alice', 'pw');
    await expect(store.addUser('ALICE', 'pw')).rejects.toMatchObject({ code: 'USER_EXISTS', message: 'user alice already exists' });
    await expect(store.addUser('bob', '')).rejects.toMatchObject({ code: 'BAD_PASSWORD' });
    await expect(store.setPassword('carol', 'pw')).rejects.toMatchObject({ code: 'NO_SUCH_USER', message: 'no such user: carol' });
    await expect(store.deleteUser('carol')).rejects.toBeInstanceOf(MailStoreError);
  });

  it('deletes an empty maildrop, refuses a full one without purge, purges with it', async () => {
    await store.addUser('alice', 'pw');
    await store.addUser('bob', 'pw');
    await store.deleteUser('alice');
    expect(store.hasUser('alice')).toBe(false);
    await store.deliver({ recipients: ['bob'], body: 'Subject: x\r\n\r\nhi\r\n' });
    await expect(store.deleteUser('bob')).rejects.toMatchObject({
      code: 'MAILDROP_NOT_EMPTY',
      message: 'the maildrop of bob holds 1 message: purge them to delete the user',
    });
    expect(store.hasUser('bob')).toBe(true);
    expect(await store.deleteUser('bob', { purge: true })).toEqual({ purged: 1 });
    expect(store.hasUser('bob')).toBe(false);
  });

  it('a re-created user never sees the UIDLs of the deleted one', async () => {
    await store.addUser('alice', 'pw');
    const [first] = await store.deliver({ recipients: ['alice'], body: 'a\r\n' });
    await store.deleteUser('alice', { purge: true });
    await store.addUser('alice', 'pw');
    const [second] = await store.deliver({ recipients: ['alice'], body: 'a\r\n' });
    expect(second?.uid).toBe(1);
    expect(second?.uidl).not.toBe(first?.uidl);
  });
});

describe('password cache', () => {
  it('answers a repeated successful login from the cache, never a wrong password', async () => {
    await store.addUser('alice', 'pw');
    expect(await store.verifyPassword('alice', 'pw')).toBe(true);
    expect(await store.verifyPassword('alice', 'pw')).toBe(true);
    expect(store.authCacheStats()).toEqual({ hits: 1, misses: 1 });
    expect(await store.verifyPassword('alice', 'PW')).toBe(false);
    expect(store.authCacheStats()).toEqual({ hits: 1, misses: 2 });
  });

  it('forgets an entry when the password changes, even from another process', async () => {
    await store.addUser('alice', 'old');
    expect(await store.verifyPassword('alice', 'old')).toBe(true);
    const other = await open(dir); // the CLI, in its own process
    await other.setPassword('alice', 'new');
    await other.close();
    expect(await store.verifyPassword('alice', 'old')).toBe(false);
    expect(await store.verifyPassword('alice', 'new')).toBe(true);
  });

  it('expires entries after the TTL and can be disabled', async () => {
    const noCache = await open(dir, { authCacheTtlMs: 0 });
    await noCache.addUser('alice', 'pw');
    await noCache.verifyPassword('alice', 'pw');
    await noCache.verifyPassword('alice', 'pw');
    expect(noCache.authCacheStats()).toEqual({ hits: 0, misses: 2 });
    await noCache.close();
    const short = await open(dir, { authCacheTtlMs: 30 });
    await short.verifyPassword('alice', 'pw');
    await new Promise((resolve) => setTimeout(resolve, 60)); // the behaviour under test: past the 30 ms TTL
    await short.verifyPassword('alice', 'pw');
    expect(short.authCacheStats()).toEqual({ hits: 0, misses: 2 });
    await short.close();
  });
});

describe('APOP secrets', () => {
  it('are opt-in, separate from the password, and removable', async () => {
    await store.addUser('alice', 'pw');
    expect(store.getApopSecret('alice')).toBeUndefined();
    store.setApopSecret('alice', 'tanstaaf');
    expect(store.getApopSecret('ALICE')).toBe('tanstaaf');
    await store.setPassword('alice', 'other');
    expect(store.getApopSecret('alice')).toBe('tanstaaf');
    expect(await store.verifyPassword('alice', 'tanstaaf')).toBe(false);
    expect(store.listUsers()[0]?.apop).toBe(true);
    expect(store.clearApopSecret('alice')).toBe(true);
    expect(store.clearApopSecret('alice')).toBe(false);
    expect(store.getApopSecret('alice')).toBeUndefined();
    expect(() => store.setApopSecret('nobody', 'x')).toThrow('no such user: nobody');
  });
});
