/**
 * Commits off the caller's thread: a delivery waiting for another process's write lock does not
 * block the event loop, the WAL is checkpointed back by the checkpoint thread, and an idle store
 * never keeps its process alive.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { open, storeFixture } from './helpers.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./fixtures/child.mjs', import.meta.url));

const fx = storeFixture(['alice']);

describe('commit thread', () => {
  it('waits for a write lock held by another connection without blocking the event loop', async () => {
    // Another process's transaction, as POP3 deleting messages would hold it.
    const other = new Database(join(fx.dir, 'store.db'), { timeout: 5000 });
    other.prepare('BEGIN IMMEDIATE').run();
    let settled = false;
    const delivery = fx.store.deliver({ recipients: ['alice'], body: 'Subject: waits\r\n\r\nfor the lock\r\n' });
    void delivery.finally(() => (settled = true));
    // The event loop keeps turning meanwhile: timers fire, the delivery stays pending.
    const ticks = await new Promise<number>((resolve) => {
      let n = 0;
      const timer = setInterval(() => {
        if (++n === 10) {
          clearInterval(timer);
          resolve(n);
        }
      }, 20);
    });
    expect(ticks).toBe(10);
    expect(settled).toBe(false);
    other.prepare('COMMIT').run();
    other.close();
    const [stored] = await delivery;
    expect(fx.store.listMessages('alice').map((m) => m.messageId)).toEqual([stored?.messageId]);
  });

  it('commits concurrent deliveries in batches with unique ids, all durable once resolved', async () => {
    const deliveries = await Promise.all(
      Array.from({ length: 200 }, (_, i) => fx.store.deliver({ recipients: ['alice'], body: `Subject: ${i}\r\n\r\n${'z'.repeat(3000)}\r\n` })),
    );
    const ids = deliveries.map(([d]) => d?.messageId);
    expect(new Set(ids).size).toBe(200);
    await fx.store.close();
    fx.store = await open(fx.dir);
    expect(fx.store.listMessages('alice')).toHaveLength(200);
  });

  it('checkpoints the WAL back into the database while deliveries go on', async () => {
    const body = `Subject: fill\r\n\r\n${'w'.repeat(60_000)}\r\n`;
    const before = (await stat(join(fx.dir, 'store.db'))).size;
    // About 6 MB through the WAL: past the point where the checkpoint thread is asked to run.
    await Promise.all(Array.from({ length: 100 }, () => fx.store.deliver({ recipients: ['alice'], body })));
    const deadline = Date.now() + 5000;
    while ((await stat(join(fx.dir, 'store.db'))).size < before + 3_000_000 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await stat(join(fx.dir, 'store.db'))).size).toBeGreaterThan(before + 3_000_000);
  });

  it('does not keep a process alive once its deliveries are done, even without close()', async () => {
    const started = Date.now();
    const { stdout } = await run(process.execPath, [CHILD, 'deliver-and-leave', fx.dir, 'alice'], { timeout: 10_000 });
    expect(stdout).toMatch(/^delivered \d+\n$/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(fx.store.listMessages('alice')).toHaveLength(1);
  });
});
