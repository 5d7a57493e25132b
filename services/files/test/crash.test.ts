/**
 * kill -9 of the service in the middle of a PUT that replaces a file: the old file is intact under
 * its name, and the temporary the upload was writing is never visible to clients (not listed, not
 * served), also after a restart.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { spawnTied } from '@hearth/testkit';
import { request } from './helpers.js';

const SERVE = fileURLToPath(new URL('./fixtures/serve.mjs', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'files-crash-'));
const shareDir = join(dataDir, 'share');
mkdirSync(shareDir);
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

function serve(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawnTied(process.execPath, [SERVE, dataDir, shareDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve({ child, url: `http://127.0.0.1:${m[1]}` });
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

it('leaves the old file intact and no temporary visible', async () => {
  const old = Buffer.alloc(100_000, 'o');
  writeFileSync(join(shareDir, 'doc.bin'), old);
  const first = await serve();
  const port = new URL(first.url).port;
  const upload = httpRequest({
    host: '127.0.0.1',
    port,
    method: 'PUT',
    path: '/files/doc.bin',
    headers: { Authorization: `Basic ${Buffer.from('alice:secret').toString('base64')}`, 'Content-Length': String(1_000_000) },
    agent: false,
  });
  upload.on('error', () => {});
  upload.write(Buffer.alloc(600_000, 'n'));
  // The upload is under way once its temporary holds bytes.
  const until = Date.now() + 10_000;
  for (;;) {
    const temps = readdirSync(shareDir).filter((n) => n.startsWith('.hearth-upload-'));
    if (temps.length === 1 && readFileSync(join(shareDir, temps[0]!)).length > 0) break;
    if (Date.now() > until) throw new Error('the upload never started writing');
    await new Promise((r) => setTimeout(r, 10));
  }
  const exited = new Promise((r) => first.child.once('exit', r));
  first.child.kill('SIGKILL');
  await exited;
  upload.destroy();

  expect(readFileSync(join(shareDir, 'doc.bin'))).toEqual(old);
  const second = await serve();
  const get = await request(second.url, 'GET', '/files/doc.bin');
  expect(get.status).toBe(200);
  expect(get.body).toBe(old.toString());
  const list = await request(second.url, 'PROPFIND', '/files/', { headers: { Depth: '1' } });
  expect(list.status).toBe(207);
  expect(list.body).toContain('/files/doc.bin');
  expect(list.body).not.toContain('hearth-upload');
  const temp = readdirSync(shareDir).find((n) => n.startsWith('.hearth-upload-'))!;
  expect((await request(second.url, 'GET', `/files/${temp}`)).status).toBe(404);
  expect((await request(second.url, 'GET', '/files/')).body).not.toContain('hearth-upload');
  second.child.kill('SIGTERM');
});
