/**
 * A download is the file's bytes: a file of more than two of the service's 2 MiB reads with a
 * shorter last one, sent whole, as single ranges and as several (multipart/byteranges) across read
 * boundaries at odd offsets, over HTTPS too, and as several downloads of it at once (each reuses
 * its own buffers once the socket has taken them, and hands them on to later downloads when it
 * ends, abandoned midway too). A small file's ranges, cut from its content in the file cache,
 * come as a large file's do.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runProgram } from '@hearth/testkit';
import { request, startServer, testCertificate, type Harness } from './helpers.js';

let h: Harness;
const MiB = 1024 * 1024;
const content = randomBytes(5 * MiB + 12_345);
const small = randomBytes(40_000);

beforeAll(async () => {
  h = await startServer();
  writeFileSync(join(h.shareDir, 'odd.bin'), content);
  writeFileSync(join(h.shareDir, 'small.bin'), small);
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

it('sends several ranges across read boundaries as multipart/byteranges, the part heads between their bytes', async () => {
  const ranges = [
    [0, 9],
    [2 * MiB - 5, 2 * MiB + 5],
    [3 * MiB + 1, 4 * MiB + 2 * 12_345],
    [content.length - 100, content.length - 1],
  ] as const;
  const asked = `bytes=${ranges.map(([s, e]) => `${s}-${e}`).join(',')}`;
  const r = await request(h.url, 'GET', '/files/odd.bin', { headers: { Range: asked } });
  expect(r.status).toBe(206);
  const boundary = /^multipart\/byteranges; boundary=(\w+)$/.exec(String(r.headers['content-type']))?.[1];
  expect(boundary).toBeDefined();
  const expected = Buffer.concat([
    ...ranges.flatMap(([s, e]) => [Buffer.from(`\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${s}-${e}/${content.length}\r\n\r\n`), content.subarray(s, e + 1)]),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  expect(Number(r.headers['content-length'])).toBe(expected.length);
  expect(r.bytes.length).toBe(expected.length);
  expect(sha(r.bytes)).toBe(sha(expected));
  // HEAD gives the same length, with no body.
  const head = await request(h.url, 'HEAD', '/files/odd.bin', { headers: { Range: asked } });
  expect([head.status, head.headers['content-length'], head.bytes.length]).toEqual([206, String(expected.length), 0]);
});

it('sends the whole file for ranges that overlap into more bytes than the file has', async () => {
  const r = await download('/files/odd.bin', `bytes=0-,${MiB}-`);
  expect(r.status).toBe(200);
  expect(sha(r.body)).toBe(sha(content));
});

it('honours a Range under If-Range only for the current strong ETag, or exactly the Last-Modified of a file more than a second old', async () => {
  const past = new Date('2026-01-02T03:04:05Z');
  writeFileSync(join(h.shareDir, 'dated.bin'), content.subarray(0, 100));
  utimesSync(join(h.shareDir, 'dated.bin'), past, past);
  const head = await request(h.url, 'HEAD', '/files/dated.bin');
  const etag = String(head.headers.etag);
  expect(head.headers['last-modified']).toBe(past.toUTCString());
  const status = async (path: string, ifRange: string): Promise<number> => (await request(h.url, 'GET', path, { headers: { Range: 'bytes=0-9', 'If-Range': ifRange } })).status;
  expect(await status('/files/dated.bin', etag)).toBe(206);
  expect(await status('/files/dated.bin', past.toUTCString())).toBe(206);
  expect(await status('/files/dated.bin', `W/${etag}`)).toBe(200);
  expect(await status('/files/dated.bin', '"other"')).toBe(200);
  expect(await status('/files/dated.bin', new Date(past.getTime() + 86_400_000).toUTCString())).toBe(200);
  expect(await status('/files/dated.bin', new Date(past.getTime() - 1000).toUTCString())).toBe(200);
  // A Last-Modified not yet a second old (here a minute ahead of the clock) is weak: no date holds.
  const ahead = new Date(Math.floor(Date.now() / 1000) * 1000 + 60_000);
  writeFileSync(join(h.shareDir, 'ahead.bin'), content.subarray(0, 100));
  utimesSync(join(h.shareDir, 'ahead.bin'), ahead, ahead);
  expect((await request(h.url, 'HEAD', '/files/ahead.bin')).headers['last-modified']).toBe(ahead.toUTCString());
  expect(await status('/files/ahead.bin', ahead.toUTCString())).toBe(200);
});

it('sends the file whole over HTTPS too, and as ranges across read boundaries', async () => {
  const out = mkdtempSync(join(tmpdir(), 'hearth-download-'));
  try {
    const url = `https://localhost:${new URL(h.httpsUrl).port}/files/odd.bin`;
    const get = (name: string, ...more: string[]) =>
      runProgram('curl', ['-sS', '--fail', '--max-time', '20', '-u', 'alice:secret', '--cacert', testCertificate().certFile, '-o', join(out, name), ...more, url]);
    expect((await get('whole')).code).toBe(0);
    expect(sha(readFileSync(join(out, 'whole')))).toBe(sha(content));
    expect((await get('range', '-r', `${2 * MiB - 5}-${4 * MiB + 99}`)).code).toBe(0);
    expect(sha(readFileSync(join(out, 'range')))).toBe(sha(content.subarray(2 * MiB - 5, 4 * MiB + 100)));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

it('sends the same bytes to several downloads of the file at once', async () => {
  const all = await Promise.all(Array.from({ length: 6 }, () => download('/files/odd.bin')));
  for (const d of all) expect(sha(d.body)).toBe(sha(content));
});

/** A GET of `path` that the client reads slowly and abandons after `bytes` bytes: how many it got. */
function abandonedAfter(path: string, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(h.url);
    const auth = `Basic ${Buffer.from('alice:secret').toString('base64')}`;
    const req = httpRequest({ host: u.hostname, port: u.port, path, headers: { Authorization: auth }, agent: false }, (res) => {
      let got = 0;
      res.on('data', (chunk: Buffer) => {
        got += chunk.length;
        if (got >= bytes) {
          res.destroy();
          resolve(got);
          return;
        }
        // Read slowly, so that the service's writes wait on the socket as it ends.
        res.pause();
        setImmediate(() => res.resume());
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

it('hands its buffers on when it ends: many downloads of two files at once, some abandoned midway, each whole one its own bytes', async () => {
  const other = randomBytes(4 * MiB + 777);
  writeFileSync(join(h.shareDir, 'other.bin'), other);
  const paths = ['/files/odd.bin', '/files/other.bin'];
  for (let round = 0; round < 3; round++) {
    const abandoned = Array.from({ length: 4 }, (_, i) => abandonedAfter(paths[i % 2]!, (i + 1) * 700_000));
    const whole = Array.from({ length: 6 }, (_, i) => download(paths[(i + round) % 2]!));
    const got = await Promise.all(abandoned);
    // Each was abandoned midway: the service still had the rest of its file to send.
    for (const [i, n] of got.entries()) expect(n).toBeLessThan((i % 2 === 0 ? content : other).length);
    for (const [i, d] of (await Promise.all(whole)).entries()) {
      expect(d.status).toBe(200);
      expect(sha(d.body)).toBe(sha((i + round) % 2 === 0 ? content : other));
    }
  }
  // And one by one after them, from the buffers they left.
  for (const path of [...paths, ...paths]) expect(sha((await download(path)).body)).toBe(sha(path === paths[0] ? content : other));
});

it("sends a small file's ranges from its content in memory as a large file's: one, several, If-Range, 416, HEAD", async () => {
  // Whole first: the file cache then holds it.
  expect(sha((await download('/files/small.bin')).body)).toBe(sha(small));
  for (const [range, start, end] of [
    ['bytes=0-0', 0, 0],
    ['bytes=100-199', 100, 199],
    ['bytes=39000-', 39_000, small.length - 1],
    ['bytes=-500', small.length - 500, small.length - 1],
    ['bytes=39990-50000', 39_990, small.length - 1],
  ] as const) {
    const r = await request(h.url, 'GET', '/files/small.bin', { headers: { Range: range } });
    expect([range, r.status, r.headers['content-range'], r.headers['content-length']]).toEqual([range, 206, `bytes ${start}-${end}/${small.length}`, String(end - start + 1)]);
    expect(r.bytes.equals(small.subarray(start, end + 1))).toBe(true);
  }
  const asked = 'bytes=0-9,20000-20009,-5';
  const several = await request(h.url, 'GET', '/files/small.bin', { headers: { Range: asked } });
  expect(several.status).toBe(206);
  const boundary = /^multipart\/byteranges; boundary=(\w+)$/.exec(String(several.headers['content-type']))?.[1];
  expect(boundary).toBeDefined();
  const expected = Buffer.concat([
    ...[
      [0, 9],
      [20_000, 20_009],
      [small.length - 5, small.length - 1],
    ].flatMap(([s, e]) => [Buffer.from(`\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${s}-${e}/${small.length}\r\n\r\n`), small.subarray(s!, e! + 1)]),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  expect(several.headers['content-length']).toBe(String(expected.length));
  expect(several.bytes.equals(expected)).toBe(true);
  const head = await request(h.url, 'HEAD', '/files/small.bin', { headers: { Range: asked } });
  expect([head.status, head.headers['content-length'], head.bytes.length]).toEqual([206, String(expected.length), 0]);
  const headOne = await request(h.url, 'HEAD', '/files/small.bin', { headers: { Range: 'bytes=5-9' } });
  expect([headOne.status, headOne.headers['content-range'], headOne.headers['content-length'], headOne.bytes.length]).toEqual([206, `bytes 5-9/${small.length}`, '5', 0]);
  const etag = String(several.headers.etag);
  const fresh = await request(h.url, 'GET', '/files/small.bin', { headers: { Range: 'bytes=1-2', 'If-Range': etag } });
  expect([fresh.status, fresh.bytes.equals(small.subarray(1, 3))]).toEqual([206, true]);
  const stale = await request(h.url, 'GET', '/files/small.bin', { headers: { Range: 'bytes=1-2', 'If-Range': '"another"' } });
  expect([stale.status, stale.bytes.length, sha(stale.bytes)]).toEqual([200, small.length, sha(small)]);
  const beyond = await request(h.url, 'GET', '/files/small.bin', { headers: { Range: `bytes=${small.length}-` } });
  expect([beyond.status, beyond.headers['content-range']]).toEqual([416, `bytes */${small.length}`]);
  // Replaced through the service, its ranges are the new content's at once, with the new ETag.
  const put = randomBytes(small.length);
  expect((await request(h.url, 'PUT', '/files/small.bin', { body: put })).status).toBe(204);
  const after = await request(h.url, 'GET', '/files/small.bin', { headers: { Range: 'bytes=100-199' } });
  expect(after.bytes.equals(put.subarray(100, 200))).toBe(true);
  expect(after.headers.etag).not.toBe(etag);
  // Changed by another program, as a whole GET: once the file cache stops trusting its lookup (a second).
  const outside = randomBytes(small.length);
  writeFileSync(join(h.shareDir, 'small.bin'), outside);
  const changed = Date.now();
  let seen = await request(h.url, 'GET', '/files/small.bin', { headers: { Range: 'bytes=100-199' } });
  while (!seen.bytes.equals(outside.subarray(100, 200)) && Date.now() - changed < 3000) {
    expect(seen.bytes.equals(put.subarray(100, 200))).toBe(true);
    seen = await request(h.url, 'GET', '/files/small.bin', { headers: { Range: 'bytes=100-199' } });
  }
  expect(seen.bytes.equals(outside.subarray(100, 200))).toBe(true);
  expect(Date.now() - changed).toBeLessThan(2000);
});
