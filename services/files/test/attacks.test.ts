/**
 * Attack cases at the socket level: no request reaches a file outside its share (dot segments in
 * every encoding, backslashes (one name, no separator: see names.test.ts), NUL, links that lead
 * out, Destination tricks), names are length
 * capped and normalised, and hostile XML (DTDs, entities, malformed or oversized bodies) gets a 4xx
 * without a stack trace.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, request, startServer, type Harness } from './helpers.js';

let h: Harness;
let outside: string;

beforeAll(async () => {
  h = await startServer();
  outside = join(h.dataDir, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'TOP SECRET');
  writeFileSync(join(h.shareDir, 'inside.txt'), 'inside');
  symlinkSync(outside, join(h.shareDir, 'escape'));
  symlinkSync(join(outside, 'secret.txt'), join(h.shareDir, 'escape.txt'));
  symlinkSync(join(h.shareDir, 'inside.txt'), join(h.shareDir, 'alias.txt'));
});
afterAll(async () => {
  await h.close();
});

const get = (path: string) => request(h.url, 'GET', path);

describe('paths never leave their share', () => {
  it.each([
    ['/files/../outside/secret.txt', 400],
    ['/files/%2e%2e/outside/secret.txt', 400],
    ['/files/%2E%2E/%2e%2e/outside/secret.txt', 400],
    ['/files/..%2foutside%2fsecret.txt', 400],
    // A backslash is a character of a name, not a separator: one name, which the share does not hold.
    ['/files/..%5coutside%5csecret.txt', 404],
    ['/files/..%5c..%5c..%5coutside%5csecret.txt', 404],
    ['/files/inside.txt%00.png', 400],
    ['/files/%252e%252e/outside/secret.txt', 404],
    ['/files/.%2e/outside/secret.txt', 400],
    ['/files/escape/secret.txt', 404],
    ['/files/escape.txt', 404],
  ])('GET %s is %d and shows nothing outside', async (path, status) => {
    const r = await get(path);
    expect(r.status).toBe(status);
    expect(r.body).not.toContain('TOP SECRET');
    expect(r.body).not.toMatch(/at .*\.js:\d+/);
  });

  it('follows a link that stays inside the share', async () => {
    const r = await get('/files/alias.txt');
    expect(r.status).toBe(200);
    expect(r.body).toBe('inside');
  });

  it('lists no link leading out, and writes nothing through one', async () => {
    const list = await request(h.url, 'PROPFIND', '/files/', { headers: { Depth: '1' } });
    expect(list.status).toBe(207);
    expect(list.body).toContain('inside.txt');
    expect(list.body).toContain('alias.txt');
    expect(list.body).not.toContain('escape');
    const put = await request(h.url, 'PUT', '/files/escape/planted.txt', { body: 'x' });
    expect(put.status).toBe(409);
    expect(existsSync(join(outside, 'planted.txt'))).toBe(false);
    const mkcol = await request(h.url, 'MKCOL', '/files/escape/sub/');
    expect(mkcol.status).toBe(409);
    expect(readdirSync(outside)).toEqual(['secret.txt']);
  });

  it('states a listing in the listed folder itself and leaves the working directory as it was', async () => {
    // A working directory holding the same name with another size: a member stated relative to it
    // would show that size.
    writeFileSync(join(outside, 'inside.txt'), 'a longer text outside');
    const started = process.cwd();
    process.chdir(outside);
    try {
      const list = await request(h.url, 'PROPFIND', '/files/', { headers: { Depth: '1' } });
      expect(list.status).toBe(207);
      const member = /<D:href>\/files\/inside\.txt<\/D:href>.*?<D:getcontentlength>(\d+)</.exec(list.body);
      expect(member?.[1]).toBe(String('inside'.length));
      expect(process.cwd()).toBe(outside);
    } finally {
      process.chdir(started);
      rmSync(join(outside, 'inside.txt'));
    }
  });

  it('lists a folder while the directory the process runs in has been removed', async () => {
    const started = process.cwd();
    const gone = mkdtempSync(join(h.dataDir, 'cwd-'));
    process.chdir(gone);
    rmdirSync(gone);
    try {
      const list = await request(h.url, 'PROPFIND', '/files/', { headers: { Depth: '1' } });
      expect(list.status).toBe(207);
      expect(list.body).toContain('inside.txt');
    } finally {
      process.chdir(started);
    }
  });

  it('refuses a Destination that climbs out, or points at another server', async () => {
    const up = await request(h.url, 'COPY', '/files/inside.txt', { headers: { Destination: `${h.url}/files/../outside/copied.txt` } });
    expect(up.status).toBe(400);
    const enc = await request(h.url, 'MOVE', '/files/inside.txt', { headers: { Destination: `${h.url}/files/%2e%2e/outside/moved.txt` } });
    expect(enc.status).toBe(400);
    const other = await request(h.url, 'COPY', '/files/inside.txt', { headers: { Destination: 'http://example.com/files/x.txt' } });
    expect(other.status).toBe(502);
    expect(readdirSync(outside)).toEqual(['secret.txt']);
    expect(existsSync(join(h.shareDir, 'inside.txt'))).toBe(true);
  });

  it('reads a Destination sent as raw UTF-8 bytes as UTF-8, and refuses one that is not UTF-8', async () => {
    const auth = `Authorization: Basic ${Buffer.from('alice:secret').toString('base64')}`;
    const copy = (destination: Buffer): Buffer =>
      Buffer.concat([Buffer.from(`COPY /files/inside.txt HTTP/1.1\r\nHost: 127.0.0.1:${h.port}\r\n${auth}\r\nConnection: close\r\nDestination: `), destination, Buffer.from('\r\n\r\n')]);
    const utf8 = await rawRequest(h.port, copy(Buffer.from(`http://127.0.0.1:${h.port}/files/caf\u00e9 \u2615.txt`, 'utf8')));
    expect(utf8.status).toBe(201);
    expect(readdirSync(h.shareDir)).toContain('caf\u00e9 \u2615.txt');
    expect((await get('/files/caf%C3%A9%20%E2%98%95.txt')).body).toBe('inside');
    const latin1 = await rawRequest(h.port, copy(Buffer.from('/files/caf\u00e9-latin1.txt', 'latin1')));
    expect(latin1.status).toBe(400);
    expect(latin1.body).toBe('the Destination header is neither percent-encoded nor valid UTF-8\n');
    expect(readdirSync(h.shareDir).filter((n) => n.startsWith('caf'))).toEqual(['caf\u00e9 \u2615.txt']);
  });

  it('caps name and path lengths', async () => {
    const long = await request(h.url, 'PUT', `/files/${'a'.repeat(300)}`, { body: 'x' });
    expect(long.status).toBe(414);
    const deep = await request(h.url, 'GET', `/files/${'abcdefgh/'.repeat(600)}`);
    expect(deep.status).toBe(414);
  });

  it('stores names in NFC: the NFD spelling (macOS) reaches the same file', async () => {
    const nfd = encodeURIComponent('Cafe\u0301.txt');
    const nfc = encodeURIComponent('Caf\u00e9.txt');
    expect((await request(h.url, 'PUT', `/files/${nfd}`, { body: 'coffee' })).status).toBe(201);
    expect(readdirSync(h.shareDir)).toContain('Caf\u00e9.txt');
    expect((await get(`/files/${nfc}`)).body).toBe('coffee');
  });

  it('reaches a name a folder holds in NFD (copied there from macOS) by either spelling: listed, read, replaced in place, deleted', async () => {
    const nfdFolder = 'Re\u0301sume\u0301s';
    const nfdFile = 'cafe\u0301.txt';
    mkdirSync(join(h.shareDir, nfdFolder));
    writeFileSync(join(h.shareDir, nfdFolder, nfdFile), 'from a Mac');
    const listed = await request(h.url, 'PROPFIND', `/files/${encodeURIComponent(nfdFolder)}/`, { headers: { Depth: '1' } });
    expect(listed.status).toBe(207);
    // The member's href spells it as the folder does (the folder's own, as the request named it).
    expect(listed.body).toContain(`/${encodeURIComponent(nfdFile)}</D:href>`);
    for (const folder of [nfdFolder, nfdFolder.normalize('NFC')]) {
      for (const file of [nfdFile, nfdFile.normalize('NFC')]) {
        expect((await get(`/files/${encodeURIComponent(folder)}/${encodeURIComponent(file)}`)).body).toBe('from a Mac');
      }
    }
    // An upload under the NFC spelling replaces the file, it does not make a second one.
    const nfcPath = `/files/${encodeURIComponent(nfdFolder.normalize('NFC'))}/${encodeURIComponent(nfdFile.normalize('NFC'))}`;
    expect((await request(h.url, 'PUT', nfcPath, { body: 'edited' })).status).toBe(204);
    expect(readdirSync(join(h.shareDir, nfdFolder))).toEqual([nfdFile]);
    expect((await get(`/files/${encodeURIComponent(nfdFolder)}/${encodeURIComponent(nfdFile)}`)).body).toBe('edited');
    expect((await request(h.url, 'DELETE', nfcPath)).status).toBe(204);
    expect(readdirSync(join(h.shareDir, nfdFolder))).toEqual([]);
  });
});

describe('XML bodies', () => {
  const propfind = (body: string) => request(h.url, 'PROPFIND', '/files/', { headers: { Depth: '0', 'Content-Type': 'application/xml' }, body });

  it('refuses a DTD with entity expansion (billion laughs)', async () => {
    const bomb =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
      '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>' +
      '<D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&lol3;</D:displayname></D:prop></D:propfind>';
    const r = await propfind(bomb);
    expect(r.status).toBe(400);
    expect(r.body).toMatch(/DOCTYPE is not allowed/);
  });

  it('refuses an external entity', async () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file://${join(outside, 'secret.txt')}">]><D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&e;</D:displayname></D:prop></D:propfind>`;
    const r = await propfind(xxe);
    expect(r.status).toBe(400);
    expect(r.body).not.toContain('TOP SECRET');
  });

  it('refuses an undeclared entity, malformed XML and a body that is not XML, without a trace', async () => {
    for (const body of [
      '<D:propfind xmlns:D="DAV:"><D:prop>&nope;</D:prop></D:propfind>',
      '<D:propfind xmlns:D="DAV:"><D:prop></D:propfind>',
      '<D:propfind xmlns:D="DAV:"><x:prop/></D:propfind>',
      'not xml at all',
      '\xff\xfe<bad/>',
    ]) {
      const r = await propfind(body);
      expect(r.status, body).toBe(400);
      expect(r.body).toMatch(/^malformed XML body/);
      expect(r.body).not.toMatch(/\n\s+at /);
    }
  });

  it('refuses an XML body over maxXmlSize with 413', async () => {
    const big = `<D:propfind xmlns:D="DAV:"><D:prop><D:displayname/></D:prop><!-- ${'x'.repeat(1_100_000)} --></D:propfind>`;
    expect(Buffer.byteLength(big)).toBeGreaterThan(h.settings.maxXmlSize);
    const r = await propfind(big);
    expect(r.status).toBe(413);
  });

  it('refuses nesting deeper than the cap', async () => {
    const deep = `<D:propfind xmlns:D="DAV:">${'<a>'.repeat(200)}${'</a>'.repeat(200)}</D:propfind>`;
    const r = await propfind(deep);
    expect(r.status).toBe(400);
    expect(r.body).toMatch(/nesting deeper/);
  });
});
