/**
 * A folder of a share swapped for a symbolic link to a folder outside it, and back, as fast as
 * another process can, while requests run against paths through it (bounded: a few seconds).
 * Whatever the timing, no byte from outside is ever served (GET of a small file, which the file
 * cache may keep, and of a large one, sent through reused buffers; ranges, COPY out of it, the
 * listings), and nothing outside is ever written: created, removed, renamed or touched.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request, startServer, type Harness } from './helpers.js';

let h: Harness;
let outside: string;
const SECRET = 'OUTSIDE-SECRET-';
const INSIDE = 'inside content\n';

/** The swapper: `swap` is a folder, then a link to OUTSIDE, then the folder again, until the time is up. */
const SWAPPER = `
const fs = require('node:fs');
const [share, outside, ms] = process.argv.slice(1);
const dir = share + '/swap', away = share + '/.swap-away';
const until = Date.now() + Number(ms);
let n = 0;
while (Date.now() < until) {
  fs.renameSync(dir, away);
  fs.symlinkSync(outside, dir);
  fs.unlinkSync(dir);
  fs.renameSync(away, dir);
  n++;
}
process.stdout.write(String(n));
`;

beforeAll(async () => {
  h = await startServer();
  outside = join(h.dataDir, 'outside');
  mkdirSync(join(outside, 'sub'), { recursive: true });
  // The same names outside as inside: a request that followed the link would find them.
  for (const name of ['secret.txt', 'victim.txt', 'sub/file.txt']) writeFileSync(join(outside, name), `${SECRET}${name}\n`.repeat(200));
  mkdirSync(join(h.shareDir, 'swap', 'sub'), { recursive: true });
  for (const name of ['secret.txt', 'victim.txt', 'sub/file.txt']) writeFileSync(join(h.shareDir, 'swap', name), INSIDE.repeat(200));
  // Over the cache's 64 KiB: sent from its descriptor, not from memory.
  writeFileSync(join(outside, 'large.txt'), `${SECRET}large\n`.repeat(8000));
  writeFileSync(join(h.shareDir, 'swap', 'large.txt'), INSIDE.repeat(8000));
});
afterAll(async () => {
  await h.close();
});

function snapshot(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const st = statSync(join(dir, name));
    out.push(`${name} ${st.isDirectory() ? 'dir' : `${st.size} ${st.mtimeMs} ${readFileSync(join(dir, name), 'utf8')}`}`);
  }
  return out.sort();
}

it('never serves a byte from outside nor writes outside while a folder and a link are swapped', async () => {
  const before = snapshot(outside);
  const swapper = spawn(process.execPath, ['-e', SWAPPER, h.shareDir, outside, '3000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let swaps = '';
  swapper.stdout!.on('data', (d: Buffer) => (swaps += d.toString()));
  const swapped = new Promise<number>((resolve) => swapper.on('exit', () => resolve(Number(swaps))));
  let running = true;
  void swapped.then(() => (running = false));

  const served: string[] = [];
  const statuses = new Map<string, number>();
  const count = (what: string, status: number): void => {
    statuses.set(`${what} ${status}`, (statuses.get(`${what} ${status}`) ?? 0) + 1);
  };
  const loop = async (worker: number): Promise<void> => {
    for (let i = 0; running; i++) {
      const n = `${worker}-${i}`;
      const ops: Array<Promise<unknown>> = [
        request(h.url, 'GET', '/files/swap/secret.txt').then((r) => (count('GET', r.status), served.push(r.body))),
        request(h.url, 'GET', '/files/swap/large.txt').then((r) => (count('GET large', r.status), served.push(r.body))),
        request(h.url, 'GET', '/files/swap/sub/file.txt', { headers: { Range: 'bytes=0-99,200-299' } }).then((r) => (count('GET range', r.status), served.push(r.body))),
        request(h.url, 'PROPFIND', '/files/swap/', { headers: { Depth: '1' } }).then((r) => (count('PROPFIND', r.status), served.push(r.body))),
        request(h.url, 'GET', '/files/swap/sub/', { headers: { Accept: 'text/html' } }).then((r) => (count('listing', r.status), served.push(r.body))),
        request(h.url, 'PUT', `/files/swap/new-${n}.txt`, { body: 'new' }).then((r) => count('PUT', r.status)),
        request(h.url, 'MKCOL', `/files/swap/sub/col-${n}`).then((r) => count('MKCOL', r.status)),
        request(h.url, 'DELETE', '/files/swap/victim.txt').then((r) => count('DELETE', r.status)),
        request(h.url, 'COPY', '/files/swap/sub/', { headers: { Destination: `${h.url}/files/copy-${n}/` } }).then((r) => count('COPY', r.status)),
        request(h.url, 'MOVE', `/files/swap/new-${n}.txt`, { headers: { Destination: `${h.url}/files/moved-${n}.txt` } }).then((r) => count('MOVE', r.status)),
        request(h.url, 'PROPPATCH', '/files/swap/secret.txt', {
          body: '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getlastmodified>Mon, 01 Jan 2001 00:00:00 GMT</D:getlastmodified></D:prop></D:set></D:propertyupdate>',
        }).then((r) => count('PROPPATCH', r.status)),
      ];
      await Promise.all(ops);
      // Put the victim back inside (the swapper may have the link in place: then this fails, harmlessly).
      try {
        writeFileSync(join(h.shareDir, '.swap-away', 'victim.txt'), INSIDE, { flag: 'wx' });
      } catch {
        // not there right now
      }
    }
  };
  await Promise.all([loop(0), loop(1), loop(2)]);
  const swapCount = await swapped;
  console.log(`symlink race: ${swapCount} swaps, ${served.length} bodies read; ${[...statuses].map(([k, v]) => `${k}: ${v}`).join(', ')}`);

  expect(swapCount).toBeGreaterThan(100);
  for (const body of served) expect(body).not.toContain(SECRET);
  // Nothing outside was created, removed, renamed or touched.
  expect(snapshot(outside)).toEqual(before);
  // What was copied into the share holds no byte from outside either.
  for (const name of readdirSync(h.shareDir, { recursive: true }) as string[]) {
    const p = join(h.shareDir, name);
    if (statSync(p).isFile()) expect(readFileSync(p, 'utf8'), name).not.toContain(SECRET);
  }
  // The requests did reach the folder (not only 404s while the link was there).
  const reached: Record<string, number> = { GET: 200, 'GET large': 200, 'GET range': 206, PROPFIND: 207, listing: 200, PUT: 201, COPY: 201 };
  for (const [what, status] of Object.entries(reached)) expect(statuses.get(`${what} ${status}`) ?? 0, what).toBeGreaterThan(0);
}, 60_000);
