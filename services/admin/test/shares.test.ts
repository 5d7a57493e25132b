/**
 * The shares page over HTTPS against `hearth up` (with files): shares listed from the running
 * settings, with the requests in progress the file service reports; adding, changing and removing a share writes the config file (comments kept) and
 * reloads, and WebDAV clients see the change; a change the reload refuses leaves the file as it
 * was and shows the problems.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@hearth/testkit';
import { stopAll, waitState } from '@hearth/testkit/hearth-up';
import { setupAdmin, startAdmin, textOf, type AdminUp, type Client } from './helpers.js';

const EXTRA = `  files:
    service: files
    listen: { http: { port: 0 }, https: { port: 0, tls: true } }
    settings:
      # the photos stay read-only
      shares:
        photos: { path: photos, read: ['*'] }
        scans:
          path: scans
          read: ['*']
          # ten megabytes, whoever writes
          quota: 10MB
          refuseAppleFiles: true
`;
let a: AdminUp;
let c: Client;

beforeAll(async () => {
  a = await startAdmin('{ loginFailureDelay: 10ms }', EXTRA);
  await waitState(a.up, 'files', 'running');
  mkdirSync(join(a.up.data, 'photos'));
  mkdirSync(join(a.up.data, 'docs'));
  mkdirSync(join(a.up.data, 'scans'));
  writeFileSync(join(a.up.data, 'docs', 'a.txt'), 'hello');
  c = await setupAdmin(a, 'root', 'root-password-1');
});
afterAll(stopAll);

/** A WebDAV GET over plain HTTP on loopback, as root. */
async function davGet(path: string): Promise<number> {
  const port = (await a.up.service('files')).listeners.find((l) => l.name === 'http')!.port;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, auth: 'root:root-password-1' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A WebDAV PUT's answer to its head alone (`length` declared, no body sent), as root. */
async function davPutHead(path: string, length: number): Promise<number> {
  const port = (await a.up.service('files')).listeners.find((l) => l.name === 'http')!.port;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'PUT', path, auth: 'root:root-password-1', headers: { 'Content-Length': String(length) } }, (res) => {
      res.resume();
      req.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

/** The fields the change form of share `name` sends as the page fills it in (its checked boxes only). */
function changeFormOf(page: string, name: string): Record<string, string> {
  const row = rowOf(page, name);
  const form = /<form method="post" action="\/shares\/save"[\s\S]*?<\/form>/.exec(row);
  if (!form) throw new Error(`no change form for share ${name}`);
  const fields: Record<string, string> = {};
  for (const input of form[0].match(/<input [^>]*>/g) ?? []) {
    const field = /name="([^"]*)"/.exec(input)?.[1];
    if (field === undefined || (input.includes('type="checkbox"') && !input.includes(' checked'))) continue;
    fields[field] = /value="([^"]*)"/.exec(input)?.[1]?.replace(/&(amp|lt|gt|quot|#39);/g, (e) => textOf(e)) ?? '';
  }
  return fields;
}

const rowOf = (page: string, name: string): string => {
  const m = new RegExp(`<tr data-share="${name}">([\\s\\S]*?)</tr>`).exec(page);
  if (!m) throw new Error(`no row for share ${name}`);
  return m[1]!;
};

describe('shares', () => {
  it('lists each share with its folder and who may read and write', async () => {
    const page = await c.get('/shares');
    expect(page.body).toContain(`Shares are kept in <code>${a.up.configFile}</code>`);
    const row = rowOf(page.body, 'photos');
    expect(row).toContain(`<code>${join(a.up.data, 'photos')}</code>`);
    expect(row).toContain('<td>*</td><td>–</td><td>none</td><td>0</td>');
    expect(rowOf(page.body, 'scans')).toContain('<td>*</td><td>–</td><td>10MB</td><td>0</td>');
    expect(textOf(page.body)).toContain('Home folders: on, quota none; requests in progress: 0.');
  });

  it('counts the requests in progress on a share: an upload under way', async () => {
    const port = (await a.up.service('files')).listeners.find((l) => l.name === 'http')!.port;
    const put = request({ host: '127.0.0.1', port, method: 'PUT', path: '/home/big.bin', auth: 'root:root-password-1', headers: { 'Content-Length': '100000' } });
    const answered = new Promise<number>((resolve, reject) => {
      put.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      put.on('error', reject);
    });
    put.write('x'.repeat(1000));
    const busy = await waitFor(async () => {
      const p = await c.get('/shares');
      return textOf(p.body).includes('requests in progress: 1.') ? p : undefined;
    });
    expect(textOf(busy.body)).toContain('Home folders: on, quota none; requests in progress: 1.');
    put.end('x'.repeat(99_000));
    expect(await answered).toBe(201);
    await waitFor(async () => textOf((await c.get('/shares')).body).includes('requests in progress: 0.'));
  });

  it('adds a share: written into the config file with its comments kept, applied by a reload', async () => {
    expect(await davGet('/docs/a.txt')).toBe(404);
    const page = await c.submit('/shares/save', { service: 'files', adding: '1', share: 'docs', path: 'docs', read: '@family, root', write: 'root', refuseAppleFiles: '1', quota: '2MiB' }, await c.get('/shares'));
    expect(textOf(page.body)).toContain('Saved share docs (applied in place).');
    const file = readFileSync(a.up.configFile, 'utf8');
    expect(file).toContain('# the photos stay read-only');
    expect(file).toMatch(/docs:\n\s+path: docs\n\s+read:\n\s+- "@family"\n\s+- root\n\s+write:\n\s+- root\n\s+refuseAppleFiles: true\n\s+quota: 2MiB\n/);
    expect(rowOf(page.body, 'docs')).toContain('<td>@family, root</td><td>root</td><td>2MiB</td><td>0</td>');
    expect(await davGet('/docs/a.txt')).toBe(200);
  });

  it('refuses a share the file service would refuse, before touching the file', async () => {
    const before = readFileSync(a.up.configFile, 'utf8');
    const page = await c.submit('/shares/save', { service: 'files', share: 'home', path: 'x', read: '', write: '' }, await c.get('/shares'));
    expect(textOf(page.body)).toContain('Refused: share name: "home" is reserved for each user\'s private folder.');
    const bad = await c.submit('/shares/save', { service: 'files', share: 'ok', path: 'x', read: 'a b', write: '' }, page);
    expect(textOf(bad.body)).toContain('Refused: read.0: a user name, @group or *.');
    const quota = await c.submit('/shares/save', { service: 'files', share: 'ok', path: 'x', read: '', write: '', quota: 'ten' }, bad);
    expect(textOf(quota.body)).toContain('Refused: quota: invalid size "ten" (expected e.g. 512KiB, 25MB, 1GB).');
    // The add form does not replace a share of the same name.
    const taken = await c.submit('/shares/save', { service: 'files', share: 'scans', path: 'elsewhere', read: '', write: '', adding: '1' }, quota);
    expect(textOf(taken.body)).toContain('Refused: a share named scans exists already; change it in its row.');
    expect(readFileSync(a.up.configFile, 'utf8')).toBe(before);
  });

  it('changes a share: the keys and comments the form does not change stay as written, the quota still holds', async () => {
    const fields = changeFormOf((await c.get('/shares')).body, 'scans');
    expect(fields).toMatchObject({ path: 'scans', read: '*', write: '', quota: '10MB', refuseAppleFiles: '1' });
    const page = await c.submit('/shares/save', { ...fields, write: 'root' }, await c.get('/shares'));
    expect(textOf(page.body)).toContain('Saved share scans (applied in place).');
    expect(readFileSync(a.up.configFile, 'utf8')).toMatch(/scans:\n\s+path: scans\n\s+read: \[ '\*' \]\n\s+# ten megabytes, whoever writes\n\s+quota: 10MB\n\s+refuseAppleFiles: true\n\s+write:\n\s+- root\n/);
    expect(rowOf(page.body, 'scans')).toContain('<td>*</td><td>root</td><td>10MB</td><td>0</td>');
    expect(await davPutHead('/scans/big.bin', 11_000_000)).toBe(507);
    expect(await davPutHead('/scans/._big.bin', 10)).toBe(403);
  });

  it('clears a share\'s quota and sets a new one from the change form', async () => {
    const cleared = await c.submit('/shares/save', { ...changeFormOf((await c.get('/shares')).body, 'scans'), quota: '' }, await c.get('/shares'));
    expect(textOf(cleared.body)).toContain('Saved share scans (applied in place).');
    expect(readFileSync(a.up.configFile, 'utf8')).not.toMatch(/quota: 10MB/);
    expect(rowOf(cleared.body, 'scans')).toContain('<td>root</td><td>none</td>');
    const set = await c.submit('/shares/save', { ...changeFormOf(cleared.body, 'scans'), quota: '1000' }, cleared);
    expect(readFileSync(a.up.configFile, 'utf8')).toMatch(/scans:[\s\S]*quota: 1000\n/);
    expect(rowOf(set.body, 'scans')).toContain('<td>root</td><td>1KB</td>');
    expect(await davPutHead('/scans/big.bin', 1001)).toBe(507);
  });

  it('puts the file back when the reload refuses it, and shows the problems', async () => {
    const good = readFileSync(a.up.configFile, 'utf8');
    const broken = good.replace('service: files', 'service: files\n    standby: maybe');
    writeFileSync(a.up.configFile, broken);
    const page = await c.submit('/shares/save', { service: 'files', share: 'docs', path: 'docs', read: '*', write: '' }, await c.get('/shares'));
    expect(textOf(page.body)).toContain('The reload refused the change; the config file is as it was.');
    expect(page.body).toMatch(/<li><code>[^<]*hearth\.yaml:\d+:\d+: services\.files\.standby: /);
    expect(readFileSync(a.up.configFile, 'utf8')).toBe(broken);
    writeFileSync(a.up.configFile, good);
  });

  it('removes a share while an upload into it runs: the upload finishes, new requests get 404', async () => {
    const port = (await a.up.service('files')).listeners.find((l) => l.name === 'http')!.port;
    const body = 'y'.repeat(100_000);
    const put = request({ host: '127.0.0.1', port, method: 'PUT', path: '/docs/up.bin', auth: 'root:root-password-1', headers: { 'Content-Length': String(body.length) } });
    const answered = new Promise<number>((resolve, reject) => {
      put.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      put.on('error', reject);
    });
    put.write(body.slice(0, 1000));
    await waitFor(async () => rowOf((await c.get('/shares')).body, 'docs').includes('<td>root</td><td>2MiB</td><td>1</td>'));
    const page = await c.submit('/shares/delete', { service: 'files', share: 'docs' }, await c.get('/shares'));
    expect(textOf(page.body)).toContain('Removed share docs (applied in place).');
    expect(readFileSync(a.up.configFile, 'utf8')).not.toContain('docs:');
    expect(page.body).not.toContain('data-share="docs"');
    expect(await davGet('/docs/a.txt')).toBe(404);
    put.end(body.slice(1000));
    expect(await answered).toBe(201);
    expect(readFileSync(join(a.up.data, 'docs', 'up.bin'), 'utf8')).toBe(body);
  });

  it('adds a share while the file service is stopped: it stays stopped and serves the share once started', async () => {
    expect((await a.up.cli('stop', 'files')).code).toBe(0);
    const page = await c.submit('/shares/save', { service: 'files', adding: '1', share: 'later', path: 'docs', read: 'root', write: '' }, await c.get('/shares'));
    expect(textOf(page.body)).toContain('Saved share later (saved; files is stopped and uses it at its next start).');
    expect(await a.up.service('files')).toMatchObject({ state: 'stopped', pid: null });
    expect((await a.up.cli('start', 'files')).code).toBe(0);
    expect(await davGet('/later/a.txt')).toBe(200);
  });
});
