/**
 * A share's `quota`: what its folder may hold, whoever writes it. Over it, PUT (declared or
 * chunked, with curl) and COPY into the share get 507 and leave nothing behind; the RFC 4331
 * properties on its collections say what is used and left; a share without one has none; a reload
 * that changes the quota applies to the next request.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { curl, request, startServer, type Harness } from './helpers.js';

let h: Harness;
let plainDir: string;
const QUOTA_PROPS = '<D:propfind xmlns:D="DAV:"><D:prop><D:quota-used-bytes/><D:quota-available-bytes/></D:prop></D:propfind>';

beforeAll(async () => {
  h = await startServer({
    settings: (dir, base) => {
      plainDir = join(dir, 'plain');
      mkdirSync(plainDir);
      const files = base.shares['files']!;
      return {
        ...base,
        shares: {
          files: { ...files, quota: 1000 },
          plain: { path: plainDir, read: [], write: ['alice'], refuseAppleFiles: false, quota: 0 },
        },
      };
    },
  });
});
afterAll(async () => {
  await h.close();
});

async function quotaProps(path: string): Promise<string> {
  const r = await request(h.url, 'PROPFIND', path, { headers: { Depth: '0' }, body: QUOTA_PROPS });
  expect(r.status).toBe(207);
  return r.body;
}

it('answers 507 to uploads over the share quota, for any user, and keeps nothing', async () => {
  expect((await request(h.url, 'PUT', '/files/big.bin', { body: Buffer.alloc(1500, 1) })).status).toBe(507);
  const chunked = await curl(['-u', 'bob:hunter2', '-H', 'Transfer-Encoding: chunked', '-T', '-', `${h.url}/files/chunked.bin`], Buffer.alloc(3000, 2));
  expect(chunked.status).toBe(507);
  expect(chunked.body).toContain('quota-not-exceeded');
  expect(readdirSync(h.shareDir)).toEqual([]);
  // Within it: alice and bob together.
  expect((await curl(['-u', 'alice:secret', '-T', '-', `${h.url}/files/a.bin`], Buffer.alloc(400, 3))).status).toBe(201);
  expect((await curl(['-u', 'bob:hunter2', '-T', '-', `${h.url}/files/b.bin`], Buffer.alloc(400, 4))).status).toBe(201);
  expect((await curl(['-u', 'bob:hunter2', '-T', '-', `${h.url}/files/c.bin`], Buffer.alloc(400, 5))).status).toBe(507);
  expect(readdirSync(h.shareDir).sort()).toEqual(['a.bin', 'b.bin']);
});

it('shows quota-used-bytes and quota-available-bytes on the share, none on a share without a quota', async () => {
  const body = await quotaProps('/files/');
  expect(body).toContain('<D:quota-used-bytes>800</D:quota-used-bytes>');
  expect(body).toContain('<D:quota-available-bytes>200</D:quota-available-bytes>');
  const plain = await quotaProps('/plain/');
  expect(plain).not.toContain('<D:quota-used-bytes>');
  expect(plain).toContain('404 Not Found');
});

it('answers 507 to a COPY into the share that does not fit, and copies nothing', async () => {
  writeFileSync(join(plainDir, 'big.bin'), Buffer.alloc(300, 6));
  mkdirSync(join(plainDir, 'dir'));
  writeFileSync(join(plainDir, 'dir', 'x.bin'), Buffer.alloc(150, 7));
  writeFileSync(join(plainDir, 'dir', 'y.bin'), Buffer.alloc(150, 8));
  const copy = (from: string, to: string) => request(h.url, 'COPY', from, { headers: { Destination: `${h.url}${to}` } });
  expect((await copy('/plain/big.bin', '/files/big.bin')).status).toBe(507);
  expect((await copy('/plain/dir/', '/files/dir/')).status).toBe(507);
  expect((await request(h.url, 'MOVE', '/plain/big.bin', { headers: { Destination: `${h.url}/files/big.bin` } })).status).toBe(507);
  expect(readdirSync(h.shareDir).sort()).toEqual(['a.bin', 'b.bin']);
  expect(readdirSync(plainDir).sort()).toEqual(['big.bin', 'dir']);
  // Replacing a file frees its bytes: 300 fit in place of a.bin's 400.
  expect((await copy('/plain/big.bin', '/files/a.bin')).status).toBe(204);
  expect(await quotaProps('/files/')).toContain('<D:quota-used-bytes>700</D:quota-used-bytes>');
});

it('applies a quota changed by a reload to the next request', async () => {
  const files = h.settings.shares['files']!;
  h.reload({ ...h.settings, shares: { ...h.settings.shares, files: { ...files, quota: 2000 } } });
  expect(await quotaProps('/files/')).toContain('<D:quota-available-bytes>1300</D:quota-available-bytes>');
  expect((await request(h.url, 'PUT', '/files/c.bin', { body: Buffer.alloc(1000, 9) })).status).toBe(201);
  h.reload({ ...h.settings, shares: { ...h.settings.shares, files: { ...files, quota: 0 } } });
  expect(await quotaProps('/files/')).not.toContain('<D:quota-used-bytes>');
  expect((await request(h.url, 'PUT', '/files/d.bin', { body: Buffer.alloc(3000, 9) })).status).toBe(201);
});
