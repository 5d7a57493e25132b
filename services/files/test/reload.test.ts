/**
 * Shares live in the runtime's draining handler table: a reload that edits a share, then one that
 * removes it, while a slow download and a slow upload run in it. Both transfers complete on the
 * definition they started with; requests made after each reload see the change (read-only, then
 * 404); the old definitions are let go once the transfers end.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '@hearth/testkit';
import { capturingLogger, request, startServer, type Harness } from './helpers.js';

let h: Harness;
const AUTH = `Basic ${Buffer.from('alice:secret').toString('base64')}`;
const big = randomBytes(48 * 1024 * 1024);

beforeAll(async () => {
  h = await startServer();
  writeFileSync(join(h.shareDir, 'big.bin'), big);
});
afterAll(async () => {
  await h.close();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

it('finishes a download and an upload across a reload that edits and then removes their share', async () => {
  // A download that reads a first chunk and then stops reading (the server blocks on the socket).
  const download = await new Promise<IncomingMessage>((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port: h.port, path: '/files/big.bin', headers: { Authorization: AUTH }, agent: false }, resolve).on('error', reject).end();
  });
  expect(download.statusCode).toBe(200);
  const received: Buffer[] = [];
  await new Promise<void>((resolve) => download.once('readable', () => resolve()));
  for (let c = download.read() as Buffer | null; c !== null; c = download.read() as Buffer | null) received.push(c);
  download.pause();

  // An upload that sends half its body and waits.
  const part1 = randomBytes(300_000);
  const part2 = randomBytes(300_000);
  const upload = httpRequest({ host: '127.0.0.1', port: h.port, method: 'PUT', path: '/files/up.bin', headers: { Authorization: AUTH, 'Transfer-Encoding': 'chunked' }, agent: false });
  const uploaded = new Promise<number>((resolve, reject) => {
    upload.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    upload.on('error', reject);
  });
  upload.write(part1);
  // Both hold a lease on the share once the upload is writing its temporary.
  const started = Date.now();
  while (h.handlers.refs('share:files') < 2) {
    if (Date.now() - started > 5000) throw new Error('the transfers never took their leases');
    await new Promise((r) => setTimeout(r, 10));
  }

  // Edit: alice may now only read, from another folder.
  const other = join(h.dataDir, 'other');
  mkdirSync(other);
  writeFileSync(join(other, 'note.txt'), 'new definition');
  const files = h.settings.shares['files']!;
  h.reload({ ...h.settings, shares: { files: { ...files, path: other, read: ['alice'], write: [] } } });
  expect((await request(h.url, 'GET', '/files/note.txt')).body).toBe('new definition');
  expect((await request(h.url, 'PUT', '/files/late.txt', { body: 'x' })).status).toBe(403);
  expect(h.handlers.retired()).toEqual([{ key: 'share:files', refs: 2 }]);

  // Remove it.
  h.reload({ ...h.settings, shares: {} });
  expect((await request(h.url, 'GET', '/files/note.txt')).status).toBe(404);
  expect((await request(h.url, 'PROPFIND', '/', { headers: { Depth: '1' } })).body).not.toContain('/files/');

  // The transfers finish on the definition they started with.
  upload.end(part2);
  expect(await uploaded).toBe(201);
  expect(sha(readFileSync(join(h.shareDir, 'up.bin')))).toBe(sha(Buffer.concat([part1, part2])));
  download.resume();
  for await (const chunk of download) received.push(chunk as Buffer);
  expect(sha(Buffer.concat(received))).toBe(sha(big));
  await waitFor(() => h.handlers.retired().length === 0, { what: 'the replaced shares cleaned up' });
});

it('warns of a share whose folder does not exist at start and at each reload, and serves the others', async () => {
  const lines: Array<Record<string, unknown>> = [];
  let missing = '';
  const other = await startServer({
    log: capturingLogger(lines),
    settings: (dir, base) => {
      missing = join(dir, 'not-yet');
      return { ...base, shares: { ...base.shares, later: { path: missing, read: [], write: ['alice'], refuseAppleFiles: false, quota: 0 } } };
    },
  });
  try {
    const warnings = () => lines.filter((l) => l['level'] === 40 && l['share'] === 'later');
    expect(warnings()).toEqual([expect.objectContaining({ share: 'later', path: missing, code: 'ENOENT', msg: 'the folder of a share cannot be found: its requests get 404 until it exists' })]);
    expect((await request(other.url, 'PUT', '/files/here.txt', { body: 'served' })).status).toBe(201);
    expect((await request(other.url, 'GET', '/later/x.txt')).status).toBe(404);
    other.reload({ ...other.settings });
    expect(warnings()).toHaveLength(2);
    expect(warnings()[1]).toMatchObject({ share: 'later', path: missing });
    // Made later, the share serves, and the next reload says nothing of it.
    mkdirSync(missing);
    writeFileSync(join(missing, 'x.txt'), 'later');
    expect((await request(other.url, 'GET', '/later/x.txt')).body).toBe('later');
    other.reload({ ...other.settings });
    expect(warnings()).toHaveLength(2);
    // A path that is a file is no folder either.
    rmSync(missing, { recursive: true });
    writeFileSync(missing, 'a file');
    other.reload({ ...other.settings });
    expect(warnings()[2]).toMatchObject({ share: 'later', path: missing, msg: 'the path of a share is not a folder: its requests get 404' });
  } finally {
    await other.close();
  }
});
