/**
 * A GET holds its file open only while it is answered: whole small files (read, then kept by the
 * file cache), large ones and single ranges (sent from the descriptor), multiple ranges, HEAD,
 * 304, and a download the client abandons halfway. A listing holds its folder open the same way:
 * PROPFIND and the HTML page, small (sent whole) and large (sent as made), and a large one the
 * client abandons midway. Checked on the server's own descriptors: none is left naming a file or folder
 * of the share once the answers are done.
 */
import { mkdirSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request, startServer, type Harness } from './helpers.js';

let h: Harness;
const LARGE = 8 * 1024 * 1024;

beforeAll(async () => {
  h = await startServer();
  writeFileSync(join(h.shareDir, 'small.txt'), 'small file\n'.repeat(100));
  writeFileSync(join(h.shareDir, 'large.bin'), Buffer.alloc(LARGE, 7));
  mkdirSync(join(h.shareDir, 'few'));
  writeFileSync(join(h.shareDir, 'few', 'one.txt'), '1');
  // Some 12 MB of PROPFIND answer: more than the sockets' buffers take while the client is not reading.
  mkdirSync(join(h.shareDir, 'many'));
  for (let i = 0; i < 8000; i++) writeFileSync(join(h.shareDir, 'many', `${'long name '.repeat(20)}${i}.txt`), '');
});
afterAll(async () => {
  await h.close();
});

/** This process's open descriptors that name a file of the share. */
function openInShare(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(h.shareDir) && !target.endsWith(h.shareDir)) out.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** Waits, checking at each turn of the event loop, until no descriptor names a file of the share. */
async function allClosed(ms: number): Promise<string[]> {
  const until = Date.now() + ms;
  let open = openInShare();
  while (open.length > 0 && Date.now() < until) {
    await new Promise((resolve) => setImmediate(resolve));
    open = openInShare();
  }
  return open;
}

/** A GET of the large file that the client abandons once the first bytes arrived. */
function abandoned(): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(h.url);
    const auth = `Basic ${Buffer.from('alice:secret').toString('base64')}`;
    const req = httpRequest({ host: u.hostname, port: u.port, path: '/files/large.bin', headers: { Authorization: auth }, agent: false }, (res) => {
      res.once('data', (chunk: Buffer) => {
        res.destroy();
        resolve(chunk.length);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

it('closes the file of every kind of GET and HEAD once answered, an abandoned download included', async () => {
  const small = await request(h.url, 'GET', '/files/small.txt');
  expect(small.status).toBe(200);
  expect((await request(h.url, 'GET', '/files/small.txt')).body).toBe(small.body);
  const large = await request(h.url, 'GET', '/files/large.bin');
  expect(large.status).toBe(200);
  expect(large.headers['content-length']).toBe(String(LARGE));
  const etag = String(large.headers.etag);
  expect((await request(h.url, 'GET', '/files/large.bin', { headers: { 'If-None-Match': etag } })).status).toBe(304);
  expect((await request(h.url, 'HEAD', '/files/large.bin')).status).toBe(200);
  const one = await request(h.url, 'GET', '/files/large.bin', { headers: { Range: 'bytes=100-199' } });
  expect([one.status, one.body.length]).toEqual([206, 100]);
  const two = await request(h.url, 'GET', '/files/large.bin', { headers: { Range: 'bytes=0-9,1000-1009' } });
  expect(two.status).toBe(206);
  expect(two.headers['content-type']).toMatch(/^multipart\/byteranges/);
  expect(await abandoned()).toBeGreaterThan(0);
  expect(await allClosed(5000)).toEqual([]);
});

/**
 * A listing of `many` that the client stops reading after its first bytes and abandons once the
 * server is seen holding the folder open, waiting for the client: whether it was seen so.
 */
function abandonedListing(method: string, headers: Record<string, string>): Promise<boolean> {
  const folder = join(h.shareDir, 'many');
  return new Promise((resolve, reject) => {
    const u = new URL(h.url);
    const auth = `Basic ${Buffer.from('alice:secret').toString('base64')}`;
    const req = httpRequest({ host: u.hostname, port: u.port, method, path: '/files/many/', headers: { ...headers, Authorization: auth }, agent: false }, (res) => {
      res.once('data', async () => {
        res.pause();
        const until = Date.now() + 5000;
        while (!openInShare().includes(folder) && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
        const seen = openInShare().includes(folder);
        res.destroy();
        resolve(seen);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

it('closes the folder of every listing once answered, one the client abandons midway included', async () => {
  for (const path of ['/files/few/', '/files/many/']) {
    const listed = await request(h.url, 'PROPFIND', path, { headers: { Depth: '1' } });
    expect(listed.status).toBe(207);
    const page = await request(h.url, 'GET', path, { headers: { Accept: 'text/html' } });
    expect(page.status).toBe(200);
  }
  expect(await allClosed(5000)).toEqual([]);
  expect(await abandonedListing('PROPFIND', { Depth: '1' })).toBe(true);
  expect(await allClosed(5000)).toEqual([]);
});
