import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { open, readAll, storeFixture } from './helpers.js';

const run = promisify(execFile);

const fx = storeFixture(['alice', 'bob']);

async function bodyFiles(): Promise<string[]> {
  const files: string[] = [];
  for (const day of await readdir(join(fx.dir, 'bodies'))) {
    for (const name of await readdir(join(fx.dir, 'bodies', day))) files.push(`${day}/${name}`);
  }
  return [...files, ...(await readdir(join(fx.dir, 'tmp'))).map((name) => `tmp/${name}`)];
}

describe('deliver', () => {
  it('stores the body with CRLF line ends and the CRLF size, listed from the index', async () => {
    const [delivery] = await fx.store.deliver({
      recipients: ['alice'],
      prefix: 'Return-Path: <a@example.org>\r\n',
      body: Readable.from([Buffer.from('Subject: hi\n\nline one\r'), Buffer.from('\nline two\n')]),
      arrivedAt: new Date('2024-05-01T10:00:00Z'),
    });
    const text = 'Return-Path: <a@example.org>\r\nSubject: hi\r\n\r\nline one\r\nline two\r\n';
    expect(delivery).toMatchObject({ user: 'alice', uid: 1, size: Buffer.byteLength(text) });
    const [listed] = fx.store.listMessages('alice');
    expect(listed).toEqual({
      messageId: delivery?.messageId,
      uid: 1,
      uidl: delivery?.uidl,
      size: Buffer.byteLength(text),
      arrivedAt: new Date('2024-05-01T10:00:00Z'),
    });
    expect(listed?.uidl).toMatch(/^00000001[0-9A-F]{8}$/);
    expect((await readAll(await fx.store.openBody(listed?.messageId ?? 0))).toString()).toBe(text);
  });

  it('gives unique, increasing UIDs to many concurrent deliveries to one user', async () => {
    const results = await Promise.all(
      Array.from({ length: 150 }, (_, i) => fx.store.deliver({ recipients: ['alice'], body: `Subject: ${i}\r\n\r\nbody ${i}\r\n` })),
    );
    const uids = results.map(([d]) => d?.uid);
    expect(new Set(uids).size).toBe(150);
    const listed = fx.store.listMessages('alice');
    expect(listed.map((m) => m.uid)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(new Set(listed.map((m) => m.uidl)).size).toBe(150);
    // Each message's body is its own.
    for (const [delivery] of results.slice(0, 10)) {
      const text = (await readAll(await fx.store.openBody(delivery?.messageId ?? 0))).toString();
      const n = /Subject: (\d+)/.exec(text)?.[1];
      expect(text).toBe(`Subject: ${n}\r\n\r\nbody ${n}\r\n`);
    }
  });

  it('never reuses a UID after deletions, also across reopening', async () => {
    for (let i = 0; i < 3; i++) await fx.store.deliver({ recipients: ['alice'], body: `m${i}\r\n` });
    const ids = fx.store.listMessages('alice').map((m) => m.messageId);
    expect(await fx.store.deleteMessages('alice', [ids[1] ?? 0, ids[2] ?? 0])).toBe(2);
    await fx.store.close();
    fx.store = await open(fx.dir);
    const [next] = await fx.store.deliver({ recipients: ['alice'], body: 'm3\r\n' });
    expect(next?.uid).toBe(4);
    expect(fx.store.listMessages('alice').map((m) => m.uid)).toEqual([1, 4]);
  });

  it('stores a multi-recipient message once, for all recipients, and keeps the file until the last reference goes', async () => {
    const large = `Subject: big\r\n\r\n${'x'.repeat(100_000)}\r\n`;
    const deliveries = await fx.store.deliver({ recipients: ['alice', 'BOB', 'alice'], body: large });
    expect(deliveries.map((d) => d.user)).toEqual(['alice', 'bob']);
    expect(await bodyFiles()).toHaveLength(1);
    const [a, b] = deliveries;
    expect(await fx.store.deleteMessages('alice', [a?.messageId ?? 0])).toBe(1);
    expect(await bodyFiles()).toHaveLength(1);
    expect((await readAll(await fx.store.openBody(b?.messageId ?? 0))).toString()).toBe(large);
    expect(await fx.store.deleteMessages('bob', [b?.messageId ?? 0])).toBe(1);
    expect(await bodyFiles()).toHaveLength(0);
  });

  it('keeps small bodies in the index, one row shared by all recipients, and reads ranges of either kind', async () => {
    const [a, b] = await fx.store.deliver({ recipients: ['alice', 'bob'], body: 'Subject: small\r\n\r\nhi\r\n' });
    expect(await bodyFiles()).toEqual([]);
    const db = new Database(join(fx.dir, 'store.db'), { readonly: true });
    expect(db.prepare('SELECT COUNT(*) FROM bodies').pluck().get()).toBe(1);
    db.close();
    expect((await readAll(await fx.store.openBody(b?.messageId ?? 0, { start: 9, end: 13 }))).toString()).toBe('small');
    await fx.store.deleteMessages('alice', [a?.messageId ?? 0]);
    expect((await readAll(await fx.store.openBody(b?.messageId ?? 0))).toString()).toBe('Subject: small\r\n\r\nhi\r\n');
    const [big] = await fx.store.deliver({ recipients: ['alice'], body: `Subject: large\r\n\r\n${'y'.repeat(70_000)}` });
    expect(await bodyFiles()).toHaveLength(1);
    expect((await readAll(await fx.store.openBody(big?.messageId ?? 0, { start: 9, end: 13 }))).toString()).toBe('large');
  });

  it('stores nothing at all when one recipient is unknown', async () => {
    await expect(fx.store.deliver({ recipients: ['alice', 'nobody'], body: 'x'.repeat(100_000) })).rejects.toMatchObject({
      code: 'NO_SUCH_USER',
      temporary: false,
      message: 'no such user: nobody',
    });
    expect(fx.store.listMessages('alice')).toEqual([]);
    expect(await bodyFiles()).toEqual([]);
  });

  it('fails a delivery whose recipient was deleted while its body was written, leaving nothing behind', async () => {
    const body = new PassThrough();
    const pending = fx.store.deliver({ recipients: ['alice', 'bob'], body });
    // More than the stream buffers: 'drain' says the store has read it.
    if (!body.write(`Subject: slow\r\n\r\n${'z'.repeat(100_000)}`)) await once(body, 'drain');
    await fx.store.deleteMaildrop('bob');
    body.end('\r\nbody\r\n');
    await expect(pending).rejects.toMatchObject({ code: 'NO_SUCH_USER' });
    expect(fx.store.listMessages('alice')).toEqual([]);
    expect(await bodyFiles()).toEqual([]);
  });

  it('rejects a message over the size cap without reading on or destroying the stream', async () => {
    const body = new PassThrough();
    const pending = fx.store.deliver({ recipients: ['alice'], body, maxSize: 100 });
    body.write('x'.repeat(80));
    body.write('y'.repeat(80));
    await expect(pending).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE', temporary: false });
    expect(body.destroyed).toBe(false);
    expect(fx.store.listMessages('alice')).toEqual([]);
    expect(await bodyFiles()).toEqual([]);
  });

  it('deletes only messages of the named maildrop', async () => {
    const [[a], [b]] = await Promise.all([
      fx.store.deliver({ recipients: ['alice'], body: 'a\r\n' }),
      fx.store.deliver({ recipients: ['bob'], body: 'b\r\n' }),
    ]);
    expect(await fx.store.deleteMessages('alice', [b?.messageId ?? 0, 9999])).toBe(0);
    expect(fx.store.listMessages('bob')).toHaveLength(1);
    expect(await fx.store.deleteMessages('alice', [a?.messageId ?? 0])).toBe(1);
    await expect(fx.store.openBody(a?.messageId ?? 0)).rejects.toMatchObject({ code: 'NO_SUCH_MESSAGE' });
  });
});

describe('large bodies', () => {
  it('writes and streams a 50 MB body in bounded chunks without loading it whole', async () => {
    const script = fileURLToPath(new URL('./fixtures/stream-large.mjs', import.meta.url));
    const { stdout } = await run(process.execPath, ['--expose-gc', script, join(fx.dir, 'large'), '50'], { timeout: 60_000 });
    const result = JSON.parse(stdout) as { size: number; bytes: number; largest: number; heldDelta: number; rssDelta: number };
    expect(result.size).toBe(50 * 1024 * 1024);
    expect(result.bytes).toBe(50 * 1024 * 1024);
    expect(result.largest).toBeLessThanOrEqual(64 * 1024);
    // Holding the body whole would add at least 50 MiB to both. Streamed, what JavaScript holds
    // grows by about 1 MiB, and the RSS, which counts the runtime's own growth too, by 16 MiB on
    // Node 20 and 21 on Node 24.
    expect(result.heldDelta).toBeLessThan(8 * 1024 * 1024);
    expect(result.rssDelta).toBeLessThan(40 * 1024 * 1024);
  });
});
