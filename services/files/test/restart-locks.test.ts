/**
 * Locks under `hearth up` survive `hearth restart files`: a token given by one instance is known to
 * the next (423 without it, the PUT with it succeeds, UNLOCK works), also while the old instance is
 * still draining (a slow download holds it). Two engines on one data directory share one lock table
 * and one dead property table.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { waitFor } from '@hearth/testkit';
import { alive, stopAll, waitState } from '@hearth/testkit/hearth-up';
import { AUTH, send, startSupervised } from './supervised.js';
import { request, startServer } from './helpers.js';

afterEach(stopAll);

const LOCKINFO = '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>alice</D:owner></D:lockinfo>';
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function lock(port: number, path: string): Promise<string> {
  const res = await send(port, 'LOCK', path, { headers: { 'Content-Type': 'application/xml', Timeout: 'Second-600' }, body: LOCKINFO });
  expect(res.status).toBe(200);
  return /^<(.+)>$/.exec(String(res.headers['lock-token']))![1]!;
}

/** PUT without the token is 423, with it succeeds; UNLOCK with it is 204; then the file is free. */
async function useLock(port: number, path: string, token: string): Promise<void> {
  expect((await send(port, 'PUT', path, { body: 'no token' })).status).toBe(423);
  expect((await send(port, 'PUT', path, { headers: { If: `(<${token}>)` }, body: 'with token' })).status).toBe(204);
  expect((await send(port, 'UNLOCK', path, { headers: { 'Lock-Token': `<${token}>` } })).status).toBe(204);
  expect((await send(port, 'PUT', path, { body: 'free' })).status).toBe(204);
}

it('keeps a lock across hearth restart files, and while the old instance drains', async () => {
  const s = await startSupervised();
  const first = await waitState(s.up, 'files', 'running');
  expect((await send(s.port, 'PUT', '/files/doc.txt', { body: 'v1' })).status).toBe(201);
  const token = await lock(s.port, '/files/doc.txt');
  expect((await s.up.cli('restart', 'files')).code).toBe(0);
  const second = await waitState(s.up, 'files', 'running');
  expect(second.pid).not.toBe(first.pid);
  await useLock(s.port, '/files/doc.txt', token);

  // A download that reads its first bytes and then waits keeps the old instance draining.
  const big = randomBytes(24 * 1024 * 1024);
  writeFileSync(join(s.shareDir, 'big.bin'), big);
  const download = await new Promise<IncomingMessage>((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port: s.port, path: '/files/big.bin', headers: { Authorization: AUTH }, agent: false }, resolve).on('error', reject).end();
  });
  expect(download.statusCode).toBe(200);
  const received: Buffer[] = [];
  await new Promise<void>((resolve) => download.once('readable', () => resolve()));
  for (let c = download.read() as Buffer | null; c !== null; c = download.read() as Buffer | null) received.push(c);
  download.pause();
  const token2 = await lock(s.port, '/files/doc.txt');
  const restart = s.up.cli('restart', 'files');
  const third = await waitFor(async () => {
    const now = await s.up.service('files');
    return now.state === 'running' && now.pid !== second.pid ? now : undefined;
  }, { timeout: 30_000, what: 'the new instance' });
  // The old instance is still there, draining, while the new one answers with its lock.
  expect(alive(second.pid!)).toBe(true);
  await useLock(s.port, '/files/doc.txt', token2);
  const token3 = await lock(s.port, '/files/doc.txt');
  expect(alive(second.pid!)).toBe(true);

  download.resume();
  for await (const chunk of download) received.push(chunk as Buffer);
  expect(sha(Buffer.concat(received))).toBe(sha(big));
  expect((await restart).code).toBe(0);
  expect(alive(second.pid!)).toBe(false);
  await useLock(s.port, '/files/doc.txt', token3);
  expect((await s.up.service('files')).pid).toBe(third.pid);
}, 60_000);

it('shares the lock table and the dead properties between two engines on one data directory', async () => {
  const a = await startServer();
  const b = await startServer({ dataDir: a.dataDir });
  try {
    writeFileSync(join(a.shareDir, 'x.txt'), 'x');
    const locked = await request(a.url, 'LOCK', '/files/x.txt', { headers: { 'Content-Type': 'application/xml' }, body: LOCKINFO });
    expect(locked.status).toBe(200);
    const token = /^<(.+)>$/.exec(String(locked.headers['lock-token']))![1]!;
    expect((await request(b.url, 'PUT', '/files/x.txt', { body: 'b' })).status).toBe(423);
    expect((await request(b.url, 'LOCK', '/files/x.txt', { headers: { 'Content-Type': 'application/xml' }, body: LOCKINFO })).status).toBe(423);
    const refreshed = await request(b.url, 'LOCK', '/files/x.txt', { headers: { If: `(<${token}>)`, Timeout: 'Second-100' } });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toContain('Second-100');
    expect((await request(a.url, 'PROPFIND', '/files/x.txt', { headers: { Depth: '0' } })).body).toContain('Second-100');
    expect((await request(b.url, 'PUT', '/files/x.txt', { headers: { If: `(<${token}>)` }, body: 'b' })).status).toBe(204);
    expect((await request(b.url, 'UNLOCK', '/files/x.txt', { headers: { 'Lock-Token': `<${token}>` } })).status).toBe(204);
    expect((await request(a.url, 'PUT', '/files/x.txt', { body: 'a' })).status).toBe(204);
    // Both opened an empty property table; one writes, the other reads it.
    const set = '<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x"><D:set><D:prop><Z:color>red</Z:color></D:prop></D:set></D:propertyupdate>';
    expect((await request(a.url, 'PROPPATCH', '/files/x.txt', { body: set })).status).toBe(207);
    expect((await request(b.url, 'PROPFIND', '/files/x.txt', { headers: { Depth: '0' } })).body).toMatch(/color xmlns[^>]*>red</);
  } finally {
    await b.close();
    await a.close();
  }
});
