/**
 * White-box tests of the listing thread: a batch rendered there gives the bytes the service's
 * thread gives for it (members in order, those rendered already in their place); small batches
 * never start it; when it fails, the batches it had and those after are rendered on the calling
 * thread, and the same at close.
 */
import { createLogger } from '@hearth/log';
import { afterEach, describe, expect, it } from 'vitest';
import { MemberBatchBuilder, renderBatch, type MemberBatch } from '../../dist/listing-batch.js';
import { ListingThread, OFFLOAD_MIN } from '../../dist/listing-thread.js';
import type { Stats } from 'node:fs';

const log = createLogger({ svc: 'files-test', level: 'silent', pretty: false });
const FAILING = new URL('../fixtures/failing-listing-worker.mjs', import.meta.url);
const threads: ListingThread[] = [];
afterEach(async () => {
  for (const t of threads.splice(0)) await t.close();
});

function thread(url?: URL): ListingThread {
  const t = new ListingThread(log, url);
  threads.push(t);
  return t;
}

/** Stats enough for the properties: member i is a folder when i % 7 === 0. */
function statOf(i: number): Stats {
  return { isDirectory: () => i % 7 === 0, size: i * 10, mtimeMs: 1_700_000_000_000 + i * 1000, ctimeMs: 1_700_000_000_000, birthtimeMs: 0, ino: 1000 + i } as unknown as Stats;
}

/** `count` members named m0..., a few of them (every 50th) rendered already, as dead properties make them. */
function batchOf(count: number): MemberBatch {
  const builder = new MemberBatchBuilder('/files/big/', { kind: 'allprop', include: [] }, undefined, count);
  for (let i = 0; i < count; i++) {
    if (i % 50 === 25) builder.addRendered(`m${i}`, `<D:response><D:href>/files/big/m${i}</D:href><!--rendered already--></D:response>\n`);
    else builder.add(`m${i}`, statOf(i));
  }
  return builder.take();
}

/** Waits (bounded) until the thread's state is `kind`, giving the event loop its turns meanwhile. */
async function until(t: ListingThread, kind: ListingThread['status']): Promise<void> {
  const end = Date.now() + 10_000;
  while (t.status !== kind) {
    if (Date.now() > end) throw new Error(`listing thread still ${t.status}, not ${kind}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

describe('listing thread', () => {
  it('renders a batch as the service thread does, members in order', async () => {
    const t = thread();
    const batch = batchOf(600);
    const here = text(renderBatch(batch));
    // The first large batch starts the thread and is rendered here meanwhile.
    expect(t.render(batch)).toBeInstanceOf(Uint8Array);
    await until(t, 'online');
    const there = t.render(batch);
    expect(there).toBeInstanceOf(Promise);
    expect(text(await there)).toBe(here);
    const hrefs = [...here.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => m[1]);
    expect(hrefs).toEqual(Array.from({ length: 600 }, (_, i) => `/files/big/m${i}${i % 7 === 0 && i % 50 !== 25 ? '/' : ''}`));
    expect(here.match(/rendered already/g)).toHaveLength(12);
    expect(here).toContain('<D:href>/files/big/m1</D:href><D:propstat><D:prop><D:creationdate>');
    expect(here).toContain('<D:getcontentlength>10</D:getcontentlength>');
  });

  it('renders batches concurrently given and answers each with its own', async () => {
    const t = thread();
    t.render(batchOf(OFFLOAD_MIN));
    await until(t, 'online');
    const batches = [batchOf(100), batchOf(300), batchOf(OFFLOAD_MIN)];
    const out = await Promise.all(batches.map((b) => t.render(b)));
    expect(out.map(text)).toEqual(batches.map((b) => text(renderBatch(b))));
  });

  it('renders small batches at once without starting the thread', () => {
    const t = thread();
    const small = batchOf(OFFLOAD_MIN - 1);
    expect(text(t.render(small) as Uint8Array)).toBe(text(renderBatch(small)));
    expect(t.status).toBe('idle');
  });

  it('renders here what a failed thread had, and what comes after', async () => {
    const t = thread(FAILING);
    const batch = batchOf(200);
    t.render(batch);
    await until(t, 'online');
    const had = t.render(batch);
    expect(had).toBeInstanceOf(Promise);
    expect(text(await had)).toBe(text(renderBatch(batch)));
    expect(t.status).toBe('failed');
    expect(text(t.render(batch) as Uint8Array)).toBe(text(renderBatch(batch)));
  });

  it('renders here after close', async () => {
    const t = thread();
    const batch = batchOf(200);
    t.render(batch);
    await until(t, 'online');
    const pending = t.render(batch);
    await t.close();
    expect(text(await pending)).toBe(text(renderBatch(batch)));
    expect(t.status).toBe('closed');
    expect(t.render(batch)).toBeInstanceOf(Uint8Array);
  });
});
