/**
 * White-box tests of the lookup and small-file cache: trusted for its TTL, looked up again after
 * it (a body kept only for the same file), renewed in the background when used in the last quarter
 * of its TTL, cleared at once by `clear`, never storing a lookup that ran across a clear, bounded;
 * a body read only through a descriptor inside the share.
 */
import { mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '@hearth/testkit';
import { FileCache } from '../../dist/file-cache.js';
import type { Located } from '../../dist/resource.js';

const root = mkdtempSync(join(tmpdir(), 'files-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Replace `name` by a new file (a new inode), as an editor or another program would. */
function replace(name: string, text: string): void {
  writeFileSync(join(root, `${name}.new`), text);
  renameSync(join(root, `${name}.new`), join(root, name));
}

/** The content the cache gives for a lookup of a small file (undefined when it refuses it). */
async function bodyOf(cache: FileCache, l: Located): Promise<Buffer | undefined> {
  return (await cache.read(root, l.path, l.stat!, 64 * 1024))?.body;
}

async function pastTtl(ms: number): Promise<void> {
  const until = Date.now() + ms + 1;
  // Wait on the clock the cache reads, not on a timer's accuracy.
  while (Date.now() < until) await new Promise((resolve) => setTimeout(resolve, until - Date.now()));
}

describe('FileCache', () => {
  it('serves a lookup and a body for its TTL, then sees a file replaced on disk', async () => {
    const cache = new FileCache({ ttlMs: 200, maxEntries: 100, maxBytes: 1 << 20 });
    replace('a.txt', 'one');
    const first = await cache.locate(root, ['a.txt']);
    expect((await bodyOf(cache, first))?.toString()).toBe('one');
    replace('a.txt', 'two!');
    const cached = await cache.locate(root, ['a.txt']);
    expect(cached.stat).toBe(first.stat);
    expect((await bodyOf(cache, cached))?.toString()).toBe('one');
    await pastTtl(200);
    const fresh = await cache.locate(root, ['a.txt']);
    expect(fresh.stat!.size).toBe(4);
    expect((await bodyOf(cache, fresh))?.toString()).toBe('two!');
  });

  it('keeps a body across a new lookup of the same, unchanged file', async () => {
    const cache = new FileCache({ ttlMs: 50, maxEntries: 100, maxBytes: 1 << 20 });
    replace('same.txt', 'kept');
    const first = await cache.locate(root, ['same.txt']);
    const body = await bodyOf(cache, first);
    expect(body?.toString()).toBe('kept');
    await pastTtl(50);
    const again = await cache.locate(root, ['same.txt']);
    expect(again.stat).not.toBe(first.stat);
    expect(await bodyOf(cache, again)).toBe(body);
  });

  it('forgets everything at a clear, and does not store a lookup that ran across one', async () => {
    const cache = new FileCache({ ttlMs: 60_000, maxEntries: 100, maxBytes: 1 << 20 });
    replace('b.txt', 'old');
    await cache.locate(root, ['b.txt']);
    replace('b.txt', 'newer');
    cache.clear();
    expect((await cache.locate(root, ['b.txt'])).stat!.size).toBe(5);
    cache.clear();
    const racing = cache.locate(root, ['b.txt']);
    cache.clear();
    await racing;
    replace('b.txt', 'newest!');
    expect((await cache.locate(root, ['b.txt'])).stat!.size).toBe(7);
  });

  it('keeps no missing resource, and no link that leads out of the folder', async () => {
    const cache = new FileCache({ ttlMs: 60_000, maxEntries: 100, maxBytes: 1 << 20 });
    expect((await cache.locate(root, ['later.txt'])).stat).toBeUndefined();
    writeFileSync(join(root, 'later.txt'), 'here');
    expect((await cache.locate(root, ['later.txt'])).stat?.size).toBe(4);
    symlinkSync('/etc/hostname', join(root, 'out'));
    expect((await cache.locate(root, ['out'])).stat).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it('holds at most maxEntries lookups and maxBytes of bodies, oldest out first', async () => {
    const cache = new FileCache({ ttlMs: 60_000, maxEntries: 3, maxBytes: 10 });
    for (const n of ['c1', 'c2', 'c3', 'c4']) {
      replace(n, '123456');
      const l = await cache.locate(root, [n]);
      await bodyOf(cache, l);
    }
    // Two bodies of 6 bytes do not fit in 10: entries went, oldest first, until one did.
    expect(cache.size).toBe(1);
    expect(cache.bytes).toBe(6);
    const c4 = await cache.locate(root, ['c4']);
    expect((await bodyOf(cache, c4))?.toString()).toBe('123456');
    const many = new FileCache({ ttlMs: 60_000, maxEntries: 3, maxBytes: 1 << 20 });
    for (const n of ['c1', 'c2', 'c3', 'c4']) await many.locate(root, [n]);
    expect(many.size).toBe(3);
  });

  it('reads no body through a link swapped in after the lookup, nor one larger than asked', async () => {
    const cache = new FileCache({ ttlMs: 60_000, maxEntries: 100, maxBytes: 1 << 20 });
    const outside = mkdtempSync(join(tmpdir(), 'files-cache-out-'));
    try {
      writeFileSync(join(outside, 'secret'), 'outside');
      replace('swapped.txt', 'inside!');
      const l = await cache.locate(root, ['swapped.txt']);
      rmSync(join(root, 'swapped.txt'));
      symlinkSync(join(outside, 'secret'), join(root, 'swapped.txt'));
      expect(await cache.read(root, l.path, l.stat!, 64 * 1024)).toBeUndefined();
      rmSync(join(root, 'swapped.txt'));
      replace('swapped.txt', 'inside!');
      cache.clear();
      const big = await cache.locate(root, ['swapped.txt']);
      expect(await cache.read(root, big.path, big.stat!, 6)).toBeUndefined();
      expect((await bodyOf(cache, big))?.toString()).toBe('inside!');
      expect(cache.bytes).toBe(7);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('renews a held file used in the last quarter of its TTL: the same file trusted anew, body kept', async () => {
    const cache = new FileCache({ ttlMs: 60_000, maxEntries: 100, maxBytes: 1 << 20 });
    replace('steady.txt', 'steady');
    const body = await bodyOf(cache, await cache.locate(root, ['steady.txt']));
    const held = cache.whole(root, ['steady.txt'], Date.now())!;
    // Before the last quarter: asked again from its start; nothing renewed.
    const at = held.recheck - 45_000;
    expect(cache.whole(root, ['steady.txt'], at + 60_000)).toBeUndefined();
    // In it: still the held file, the renewal started (asked again only when the trust ends).
    const renewing = cache.whole(root, ['steady.txt'], held.recheck)!;
    expect(renewing.body).toBe(body);
    expect(renewing.recheck).toBe(at + 60_000);
    const version = cache.version;
    // Renewed from when the renewal began: trusted past the first lookup's end, the same bytes.
    const renewed = await waitFor(() => cache.whole(root, ['steady.txt'], at + 60_000));
    expect(renewed.body).toBe(body);
    expect(renewed.stat).toBe(held.stat);
    expect(renewed.recheck).toBe(held.recheck + 45_000);
    expect(cache.version).toBe(version);
  });

  it('drops a held file changed on disk when its renewal finds it so', async () => {
    const cache = new FileCache({ ttlMs: 60_000, maxEntries: 100, maxBytes: 1 << 20 });
    replace('edited.txt', 'before');
    await bodyOf(cache, await cache.locate(root, ['edited.txt']));
    const held = cache.whole(root, ['edited.txt'], Date.now())!;
    replace('edited.txt', 'after, longer');
    const version = cache.version;
    // Still trusted (a change by another program is seen within the TTL), and renewed from here.
    expect(cache.whole(root, ['edited.txt'], held.recheck)?.body.toString()).toBe('before');
    await waitFor(() => cache.version !== version);
    expect(cache.whole(root, ['edited.txt'], held.recheck)).toBeUndefined();
    const fresh = await cache.locate(root, ['edited.txt']);
    expect((await bodyOf(cache, fresh))?.toString()).toBe('after, longer');
  });
});
