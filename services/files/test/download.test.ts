/**
 * A download is the file's bytes: a file of more than two of the service's 2 MiB reads with a
 * shorter last one, sent whole, as single ranges across read boundaries at odd offsets, and as
 * several downloads of it at once (each reuses its own buffers once the socket has taken them).
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request, startServer, type Harness } from './helpers.js';

let h: Harness;
const MiB = 1024 * 1024;
const content = randomBytes(5 * MiB + 12_345);

beforeAll(async () => {
  h = await startServer();
  writeFileSync(join(h.shareDir, 'odd.bin'), content);
});
afterAll(async () => {
  await h.close();
});

/** GET `path` (optionally a Range): status, and the body's bytes. */
async function download(path: string, range?: string): Promise<{ status: number; body: Buffer }> {
  const r = await request(h.url, 'GET', path, range === undefined ? {} : { headers: { Range: range } });
  return { status: r.status, body: r.bytes };
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

it('sends a file of several reads whole, its last read shorter', async () => {
  const whole = await download('/files/odd.bin');
  expect(whole.status).toBe(200);
  expect(whole.body.length).toBe(content.length);
  expect(sha(whole.body)).toBe(sha(content));
});

it('sends single ranges that cross read boundaries at odd offsets', async () => {
  for (const [start, end] of [
    [1, 2 * MiB],
    [2 * MiB - 3, 4 * MiB + 7],
    [4 * MiB + 1, content.length - 1],
    [123_457, content.length - 2],
  ] as const) {
    const part = await download('/files/odd.bin', `bytes=${start}-${end}`);
    expect(part.status).toBe(206);
    expect(sha(part.body)).toBe(sha(content.subarray(start, end + 1)));
  }
});

it('sends the same bytes to several downloads of the file at once', async () => {
  const all = await Promise.all(Array.from({ length: 6 }, () => download('/files/odd.bin')));
  for (const d of all) expect(sha(d.body)).toBe(sha(content));
});
