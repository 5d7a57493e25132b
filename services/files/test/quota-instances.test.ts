/**
 * Two engines on one data directory, as an old instance that drains and the one that replaced it:
 * a share's quota is counted once for both. An upload in progress on one (its declared length
 * reserved) leaves the other only what is left; what one wrote counts on the other; the
 * reservations of a process that is gone (a kill -9), or whose pid another process now has, are
 * dropped as soon as they keep an upload out. An
 * upload of undeclared length (chunked) is reserved as it arrives, so one alongside it cannot take
 * the same space. The walk that counts a folder follows no link and leaves upload temporaries out.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { processStartTime, selfStartTime } from '@hearth/process';
import { spawnTied, waitFor } from '@hearth/testkit';
import type { FilesSettings } from '@hearth/files';
import { request, startServer, type Harness } from './helpers.js';

let a: Harness;
let b: Harness;
const AUTH = `Basic ${Buffer.from('alice:secret').toString('base64')}`;
const withQuota = (_dir: string, base: FilesSettings): FilesSettings => ({ ...base, shares: { files: { ...base.shares['files']!, quota: 1000 } } });

beforeAll(async () => {
  a = await startServer({ settings: withQuota });
  b = await startServer({ settings: withQuota, dataDir: a.dataDir });
});
afterAll(async () => {
  await b.files.stop(Date.now() + 2000);
  await a.close();
});

/** A PUT that declares `length` bytes and waits, once the server has reserved them (100 Continue), for `finish`. */
function heldUpload(url: string, path: string, length: number): { reserved: Promise<void>; finish(): Promise<number> } {
  const u = new URL(url);
  let status!: Promise<number>;
  const req = httpRequest({ host: u.hostname, port: u.port, method: 'PUT', path, headers: { Authorization: AUTH, 'Content-Length': String(length), Expect: '100-continue' } });
  status = new Promise((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
  const reserved = new Promise<void>((resolve) => req.once('continue', () => resolve()));
  req.flushHeaders();
  return {
    reserved,
    finish: () => {
      req.end(Buffer.alloc(length, 9));
      return status;
    },
  };
}

const used = async (h: Harness): Promise<string | undefined> => {
  const r = await request(h.url, 'PROPFIND', '/files/', { headers: { Depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><D:quota-used-bytes/></D:prop></D:propfind>' });
  return /<D:quota-used-bytes>(\d+)</.exec(r.body)?.[1];
};

it('leaves the other instance only what an upload in progress has not reserved, and counts what it wrote', async () => {
  const held = heldUpload(a.url, '/files/held.bin', 600);
  await held.reserved;
  // 1000 - 600 reserved on the other engine: 500 does not fit, 300 does.
  expect((await request(b.url, 'PUT', '/files/too-big.bin', { body: Buffer.alloc(500, 1) })).status).toBe(507);
  expect((await request(b.url, 'PUT', '/files/fits.bin', { body: Buffer.alloc(300, 2) })).status).toBe(201);
  expect(await held.finish()).toBe(201);
  expect(readdirSync(a.shareDir).sort()).toEqual(['fits.bin', 'held.bin']);
  // Each engine sees both writes.
  expect(await used(a)).toBe('900');
  expect(await used(b)).toBe('900');
  expect((await request(a.url, 'PUT', '/files/more.bin', { body: Buffer.alloc(200, 3) })).status).toBe(507);
  expect((await request(a.url, 'DELETE', '/files/fits.bin')).status).toBe(204);
  expect(await used(b)).toBe('600');
});

it('drops the reservations of a process that is gone, or whose pid another process now has, once an upload would not fit with them', async () => {
  const holder = spawnTied(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => holder.once('exit', resolve));
  try {
    const gone = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
    const db = new Database(join(a.dataDir, 'files', 'quota.db'));
    try {
      const insert = db.prepare('INSERT INTO reservations (root, bytes, pid, started) VALUES (?, ?, ?, ?)');
      // 600 used. A process that runs holds 300; one that is gone 100 (a version that recorded no
      // start time); this test's own pid 100, with another start time: a process that had it before.
      insert.run(a.shareDir, 300, holder.pid, processStartTime(holder.pid!));
      insert.run(a.shareDir, 100, gone, '?');
      insert.run(a.shareDir, 100, process.pid, String(Number(selfStartTime()) + 1));
      // 1,100 promised: 10 bytes fit only without the two that are gone, and the engines already open see it.
      expect((await request(b.url, 'PUT', '/files/small.bin', { body: Buffer.alloc(10, 4) })).status).toBe(201);
      expect(db.prepare('SELECT pid, bytes FROM reservations').all()).toEqual([{ pid: holder.pid, bytes: 300 }]);
    } finally {
      db.close();
    }
    // The running holder's 300 still count: 600 + 10 + 300, no room for 100 more.
    expect((await request(a.url, 'PUT', '/files/more.bin', { body: Buffer.alloc(100, 5) })).status).toBe(507);
  } finally {
    holder.kill('SIGKILL');
    await exited;
  }
  expect((await request(a.url, 'PUT', '/files/more.bin', { body: Buffer.alloc(100, 5) })).status).toBe(201);
});

it('counts neither what a link leads to nor an upload temporary left by a crash', async () => {
  const h = await startServer({ settings: withQuota });
  try {
    const outside = join(h.dataDir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'large.bin'), Buffer.alloc(5000, 5));
    symlinkSync(outside, join(h.shareDir, 'link'));
    writeFileSync(join(h.shareDir, '.hearth-upload-leftover'), Buffer.alloc(700, 6));
    mkdirSync(join(h.shareDir, 'sub'));
    writeFileSync(join(h.shareDir, 'sub', 'real.bin'), Buffer.alloc(100, 7));
    expect(await used(h)).toBe('100');
    expect((await request(h.url, 'PUT', '/files/fits.bin', { body: Buffer.alloc(900, 8) })).status).toBe(201);
  } finally {
    await h.close();
  }
});

it('reserves a chunked upload as it arrives: one alongside it cannot take the same space', async () => {
  const h = await startServer({ settings: withQuota });
  try {
    const u = new URL(h.url);
    // 600 bytes of a chunked body, then a pause.
    const req = httpRequest({ host: u.hostname, port: u.port, method: 'PUT', path: '/files/first.bin', headers: { Authorization: AUTH, 'Transfer-Encoding': 'chunked' } });
    const status = new Promise<number>((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
    });
    req.write(Buffer.alloc(600, 1));
    const db = new Database(join(h.dataDir, 'files', 'quota.db'), { readonly: true });
    try {
      const reserved = db.prepare<[], { b: number }>('SELECT coalesce(max(bytes), 0) AS b FROM reservations');
      await waitFor(() => reserved.get()!.b >= 600, { timeout: 5000, what: 'the first upload reserved as it arrives' });
    } finally {
      db.close();
    }
    // The second, chunked too, would pass the 1000 with the first's 600: refused, nothing kept.
    const second = await request(h.url, 'PUT', '/files/second.bin', { headers: { 'Transfer-Encoding': 'chunked' }, body: Buffer.alloc(600, 2) });
    expect(second.status).toBe(507);
    req.end(Buffer.alloc(100, 1));
    expect(await status).toBe(201);
    expect(readdirSync(h.shareDir)).toEqual(['first.bin']);
    expect(await used(h)).toBe('700');
    // What is left is still usable by a chunked upload alone.
    expect((await request(h.url, 'PUT', '/files/third.bin', { headers: { 'Transfer-Encoding': 'chunked' }, body: Buffer.alloc(300, 3) })).status).toBe(201);
  } finally {
    await h.close();
  }
});
