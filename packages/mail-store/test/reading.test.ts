import { describe, expect, it } from 'vitest';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, type BodyReader } from '@hearth/mail-store';
import { open, readAll, storeFixture, tempDir } from './helpers.js';

const fx = storeFixture(['alice', 'bob']);

/** Everything a reader returns, read into a reused buffer of `size` bytes. */
async function drain(reader: BodyReader, size: number): Promise<{ bytes: Buffer; reads: number }> {
  const into = Buffer.alloc(size);
  const chunks: Buffer[] = [];
  let reads = 0;
  while (!reader.done) {
    const n = await reader.read(into);
    reads++;
    if (n === 0) break;
    chunks.push(Buffer.from(into.subarray(0, n)));
  }
  expect(await reader.read(into)).toBe(0);
  await reader.close();
  return { bytes: Buffer.concat(chunks), reads };
}

describe('openBodyReader', () => {
  it('reads inline and file bodies into the caller’s buffer, whole or a range', async () => {
    const small = 'Subject: small\r\n\r\nhi\r\n';
    const large = `Subject: large\r\n\r\n${'y'.repeat(70_000)}`;
    const [s] = await fx.store.deliver({ recipients: ['alice'], body: small });
    const [l] = await fx.store.deliver({ recipients: ['alice'], body: large });

    const inline = await fx.store.openBodyReader(s?.messageId ?? 0);
    expect(inline.size).toBe(small.length);
    expect((await drain(inline, 5)).bytes.toString()).toBe(small);

    const file = await fx.store.openBodyReader(l?.messageId ?? 0);
    expect(file.size).toBe(large.length);
    const whole = await drain(file, 16 * 1024);
    expect(whole.bytes.toString()).toBe(large);
    expect(whole.reads).toBe(Math.ceil(large.length / (16 * 1024)));

    expect((await drain(await fx.store.openBodyReader(s?.messageId ?? 0, { start: 9, end: 13 }), 64)).bytes.toString()).toBe('small');
    expect((await drain(await fx.store.openBodyReader(l?.messageId ?? 0, { start: 9, end: 13 }), 64)).bytes.toString()).toBe('large');
  });

  it('refuses an unknown message, and one whose file is gone', async () => {
    await expect(fx.store.openBodyReader(12345)).rejects.toMatchObject({ code: 'NO_SUCH_MESSAGE' });
    const [l] = await fx.store.deliver({ recipients: ['alice'], body: 'z'.repeat(100_000) });
    const db = new Database(join(fx.dir, 'store.db'), { readonly: true });
    const file = db.prepare('SELECT file FROM bodies WHERE file IS NOT NULL').pluck().get() as string;
    db.close();
    await unlink(join(fx.dir, 'bodies', file));
    await expect(fx.store.openBodyReader(l?.messageId ?? 0)).rejects.toMatchObject({ code: 'NO_SUCH_MESSAGE' });
  });

  it('returns the same bytes as openBody', async () => {
    const body = Array.from({ length: 3000 }, (_, i) => `line ${i}\n`).join('');
    const [d] = await fx.store.deliver({ recipients: ['alice'], body });
    const streamed = await readAll(await fx.store.openBody(d?.messageId ?? 0));
    expect((await drain(await fx.store.openBodyReader(d?.messageId ?? 0), 4096)).bytes.equals(streamed)).toBe(true);
  });
});

describe('maildropVersion', () => {
  it('changes when a message arrives or leaves, by this store or another, and not otherwise', async () => {
    const other = await open(fx.dir);
    try {
      const v0 = fx.store.maildropVersion('alice');
      const bob0 = fx.store.maildropVersion('bob');
      expect(fx.store.maildropVersion('ALICE')).toBe(v0);
      expect(fx.store.tryLockMaildrop('alice', 's1')).toBe(true);
      fx.store.unlockMaildrop('alice', 's1');
      expect(fx.store.maildropVersion('alice')).toBe(v0);

      const [a1] = await other.deliver({ recipients: ['alice'], body: 'one\r\n' });
      const v1 = fx.store.maildropVersion('alice');
      expect(v1).not.toBe(v0);
      expect(fx.store.maildropVersion('bob')).toBe(bob0);

      const [a2] = await fx.store.deliver({ recipients: ['alice'], body: 'two\r\n' });
      const v2 = fx.store.maildropVersion('alice');
      expect(new Set([v0, v1, v2]).size).toBe(3);

      // One deletion and one delivery keep the count, but not the version.
      await other.deleteMessages('alice', [a1?.messageId ?? 0]);
      const v3 = fx.store.maildropVersion('alice');
      expect(new Set([v0, v1, v2, v3]).size).toBe(4);
      await other.deliver({ recipients: ['alice'], body: 'three\r\n' });
      expect(fx.store.maildropVersion('alice')).not.toBe(v2);
      expect(fx.store.listMessages('alice').map((m) => m.messageId)).not.toContain(a1?.messageId);
      expect(fx.store.listMessages('alice').map((m) => m.messageId)).toContain(a2?.messageId);
    } finally {
      await other.close();
    }
  });

  it('differs for a user deleted and created again', async () => {
    const before = fx.store.maildropVersion('bob');
    await fx.store.deleteMaildrop('bob');
    expect(() => fx.store.maildropVersion('bob')).toThrow(expect.objectContaining({ code: 'NO_SUCH_USER' }));
    fx.store.addMaildrop('bob');
    expect(fx.store.maildropVersion('bob')).not.toBe(before);
  });
});

describe('lockMaildrop', () => {
  it('locks like tryLockMaildrop and returns the version as locked', async () => {
    const other = await open(fx.dir);
    try {
      const lock = fx.store.lockMaildrop('Alice', 's1');
      expect(lock).toEqual({ version: fx.store.maildropVersion('alice') });
      expect(other.lockMaildrop('alice', 's2')).toBeUndefined();
      expect(other.tryLockMaildrop('alice', 's2')).toBe(false);
      await other.deliver({ recipients: ['alice'], body: 'new\r\n' });
      fx.store.unlockMaildrop('ALICE', 's1');
      const again = other.lockMaildrop('alice', 's2');
      expect(again?.version).not.toBe(lock?.version);
      expect(again?.version).toBe(fx.store.maildropVersion('alice'));
      other.unlockMaildrop('alice', 's2');
      expect(fx.store.maildropLockHolder('alice')).toBeUndefined();
      expect(() => fx.store.lockMaildrop('nobody', 's3')).toThrow(expect.objectContaining({ code: 'NO_SUCH_USER' }));
    } finally {
      await other.close();
    }
  });
});

describe('acquireMaildrop and releaseMaildrop', () => {
  it('wait for another connection’s write transaction without blocking the event loop', async () => {
    const other = new Database(join(fx.dir, 'store.db'), { timeout: 5000 });
    try {
      other.prepare('BEGIN IMMEDIATE').run();
      let settled = false;
      const acquiring = fx.store.acquireMaildrop('alice', 's1');
      void acquiring.finally(() => (settled = true));
      let ticks = 0;
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          if (++ticks === 10) {
            clearInterval(timer);
            resolve();
          }
        }, 20);
      });
      expect(settled).toBe(false);
      other.prepare('COMMIT').run();
      expect(await acquiring).toEqual({ version: fx.store.maildropVersion('alice') });
      expect(fx.store.maildropLockHolder('alice')).toMatchObject({ holder: 's1', pid: process.pid });

      other.prepare('BEGIN IMMEDIATE').run();
      const releasing = fx.store.releaseMaildrop('alice', 's1');
      // A time window, not an order: the release retries while the database is busy, and no event
      // marks a retry; 100 ms is several of them.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(fx.store.maildropLockHolder('alice')).toMatchObject({ holder: 's1' });
      other.prepare('COMMIT').run();
      await releasing;
      expect(fx.store.maildropLockHolder('alice')).toBeUndefined();
    } finally {
      other.close();
    }
  });

  it('give up after busyTimeoutMs like a blocking write, and refuse a maildrop held by another session', async () => {
    const quick = await open(fx.dir, { busyTimeoutMs: 150 });
    const other = new Database(join(fx.dir, 'store.db'), { timeout: 5000 });
    try {
      expect(await quick.acquireMaildrop('bob', 's1')).toBeDefined();
      expect(await fx.store.acquireMaildrop('bob', 's2')).toBeUndefined();
      other.prepare('BEGIN IMMEDIATE').run();
      const started = Date.now();
      await expect(quick.acquireMaildrop('alice', 's3')).rejects.toMatchObject({ code: 'STORAGE_ERROR', temporary: true });
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      other.prepare('ROLLBACK').run();
      await quick.releaseMaildrop('bob', 's1');
      expect(await fx.store.acquireMaildrop('bob', 's2')).toBeDefined();
    } finally {
      other.close();
      await quick.close();
    }
  });
});

describe('schema version 2', () => {
  it('adds the deletion count to a store made with version 1, and versions follow deletions from then on', async () => {
    const old = await tempDir();
    try {
      const db = new Database(join(old.dir, 'store.db'));
      db.pragma('journal_mode = WAL');
      db.exec(MIGRATIONS[0]!.sql);
      db.pragma('user_version = 1');
      db.prepare("INSERT INTO users (id, name, password_hash, created_at, updated_at) VALUES (1, 'carol', 'x', 0, 0)").run();
      db.prepare("INSERT INTO mailboxes (id, user_id, name, uid_validity, created_at) VALUES (7, 1, 'INBOX', 1000, 0)").run();
      db.close();
      const migrated = await open(old.dir);
      try {
        const [a, b] = [
          ...(await migrated.deliver({ recipients: ['carol'], body: 'a\r\n' })),
          ...(await migrated.deliver({ recipients: ['carol'], body: 'b\r\n' })),
        ];
        const v1 = migrated.maildropVersion('carol');
        await migrated.deleteMessages('carol', [a?.messageId ?? 0]);
        const v2 = migrated.maildropVersion('carol');
        expect(v2).not.toBe(v1);
        await migrated.deleteMessages('carol', [b?.messageId ?? 0]);
        expect(new Set([v1, v2, migrated.maildropVersion('carol')]).size).toBe(3);
      } finally {
        await migrated.close();
      }
    } finally {
      await old.cleanup();
    }
  });
});
