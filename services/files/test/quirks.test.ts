/**
 * curl transcripts of what real clients do: Windows (Win32* PROPPATCH, OPTIONS/PROPFIND above the
 * shares, Basic over HTTPS), rclone and ownCloud clients (X-OC-Mtime, getlastmodified), macOS
 * (chunked PUT with X-Expected-Entity-Length, its probes, refusing ._* and .DS_Store), GNOME
 * (collections without a trailing slash, `.hidden`), a browser (HTML listing, Content-Disposition), plus
 * ranges, auth answers and the access log.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturingLogger, curl, hrefsIn, rawRequest, request, startServer, type Harness } from './helpers.js';

let h: Harness;
let apple: string;
const logLines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  h = await startServer({
    log: capturingLogger(logLines),
    isLoopback: (address) => address !== '127.0.0.2' && address !== '::ffff:127.0.0.2',
    settings: (dir, base) => {
      apple = join(dir, 'apple');
      mkdirSync(apple);
      return { ...base, shares: { ...base.shares, mac: { path: apple, read: [], write: ['alice'], refuseAppleFiles: true, quota: 0 } } };
    },
  });
  writeFileSync(join(h.shareDir, 'photo.png'), Buffer.alloc(5000, 7));
  writeFileSync(join(h.shareDir, 'a<b>&"c".txt'), 'odd name');
  writeFileSync(join(h.shareDir, 'digits.txt'), '0123456789abcdefghij');
});
afterAll(async () => {
  await h.close();
});

const u = (path: string) => `${h.url}${path}`;
const A = ['-u', 'alice:secret'];

describe('Windows', () => {
  it('answers the Win32* PROPPATCH with 207 and 200 per property, and applies the modified time', async () => {
    writeFileSync(join(h.shareDir, 'report.docx'), 'doc');
    const body =
      '<?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop>' +
      '<Z:Win32CreationTime>Tue, 01 Sep 2020 10:00:00 GMT</Z:Win32CreationTime>' +
      '<Z:Win32LastAccessTime>Wed, 02 Sep 2020 10:00:00 GMT</Z:Win32LastAccessTime>' +
      '<Z:Win32LastModifiedTime>Thu, 03 Sep 2020 10:00:00 GMT</Z:Win32LastModifiedTime>' +
      '<Z:Win32FileAttributes>00000020</Z:Win32FileAttributes></D:prop></D:set></D:propertyupdate>';
    const r = await curl([...A, '-X', 'PROPPATCH', '-H', 'Content-Type: text/xml', '--data-binary', body, u('/files/report.docx')]);
    expect(r.status).toBe(207);
    for (const p of ['Win32CreationTime', 'Win32LastAccessTime', 'Win32LastModifiedTime', 'Win32FileAttributes']) expect(r.body).toContain(`<${p} xmlns="urn:schemas-microsoft-com:"/>`);
    expect(r.body.match(/HTTP\/1.1 200 OK/g)).toHaveLength(1);
    expect(r.body).not.toMatch(/HTTP\/1.1 (4|5)\d\d/);
    expect(statSync(join(h.shareDir, 'report.docx')).mtime.toISOString()).toBe('2020-09-03T10:00:00.000Z');
  });

  it('answers OPTIONS and PROPFIND on the root above the shares', async () => {
    const opt = await curl(['-X', 'OPTIONS', u('/')]);
    expect(opt.status).toBe(200);
    expect(opt.headers['dav']).toBe('1, 2');
    expect(opt.headers['ms-author-via']).toBe('DAV');
    const list = await curl([...A, '-X', 'PROPFIND', '-H', 'Depth: 1', u('/')]);
    expect(list.status).toBe(207);
    expect(list.body).toContain('<D:href>/files/</D:href>');
    expect(list.body).toContain('<D:href>/home/</D:href>');
  });

  it('takes Basic over HTTPS with the suite certificate, and refuses it over plain HTTP off loopback', async () => {
    // From the same address just before: the credentials it verified over HTTPS do not let its plain HTTP connection in.
    const tls = await curl([...A, '--interface', '127.0.0.2', '--cacert', h.cert.certFile, '-X', 'PROPFIND', '-H', 'Depth: 0', `${h.httpsUrl.replace('127.0.0.1', 'localhost')}/files/`]);
    expect(tls.status).toBe(207);
    const plain = await curl([...A, '--interface', '127.0.0.2', '-X', 'PROPFIND', '-H', 'Depth: 0', u('/files/')]);
    expect(plain.status).toBe(403);
    expect(plain.body).toMatch(/use HTTPS/);
  });
});

describe('rclone and ownCloud clients', () => {
  it('applies X-OC-Mtime and answers it accepted', async () => {
    const r = await curl([...A, '-H', 'X-OC-Mtime: 1600000000', '-T', '-', u('/files/synced.txt')], 'synced');
    expect(r.status).toBe(201);
    expect(r.headers['x-oc-mtime']).toBe('accepted');
    expect(statSync(join(h.shareDir, 'synced.txt')).mtimeMs).toBe(1600000000_000);
  });

  it('sets the time with a PROPPATCH of getlastmodified', async () => {
    const body = '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getlastmodified>Sun, 13 Sep 2020 12:26:40 GMT</D:getlastmodified></D:prop></D:set></D:propertyupdate>';
    const r = await curl([...A, '-X', 'PROPPATCH', '--data-binary', body, u('/files/synced.txt')]);
    expect(r.status).toBe(207);
    expect(r.body).toContain('HTTP/1.1 200 OK');
    expect(statSync(join(h.shareDir, 'synced.txt')).mtime.toUTCString()).toBe('Sun, 13 Sep 2020 12:26:40 GMT');
  });
});

describe('modification times', () => {
  it('names the same second in a GET\'s Last-Modified and a PROPFIND\'s getlastmodified, in the last half millisecond of it too', async () => {
    const path = join(h.shareDir, 'edge.txt');
    writeFileSync(path, 'edge\n');
    // 12:26:40.9996: Node's st.mtime rounds this to 12:26:41.000.
    utimesSync(path, 1600000000.9996, 1600000000.9996);
    expect(statSync(path).mtime.toUTCString()).toBe('Sun, 13 Sep 2020 12:26:41 GMT');
    const get = await curl([...A, u('/files/edge.txt')]);
    expect(get.headers['last-modified']).toBe('Sun, 13 Sep 2020 12:26:40 GMT');
    const listed = await curl([...A, '-X', 'PROPFIND', '-H', 'Depth: 0', u('/files/edge.txt')]);
    expect(listed.body).toContain('<D:getlastmodified>Sun, 13 Sep 2020 12:26:40 GMT</D:getlastmodified>');
    // The time it names is the one the conditionals and If-Range compare.
    const named = get.headers['last-modified']!;
    expect((await curl([...A, '-H', `If-Modified-Since: ${named}`, u('/files/edge.txt')])).status).toBe(304);
    expect((await curl([...A, '-H', `If-Unmodified-Since: ${named}`, u('/files/edge.txt')])).status).toBe(200);
    const ranged = await curl([...A, '-H', 'Range: bytes=0-1', '-H', `If-Range: ${named}`, u('/files/edge.txt')]);
    expect(ranged.status).toBe(206);
    expect(ranged.body).toBe('ed');
  });
});

describe('macOS', () => {
  it('takes a chunked PUT announced with X-Expected-Entity-Length', async () => {
    const data = Buffer.alloc(70_000, 'm');
    const r = await curl([...A, '-H', 'Transfer-Encoding: chunked', '-H', `X-Expected-Entity-Length: ${data.length}`, '-T', '-', u('/files/finder.bin')], data);
    expect(r.status).toBe(201);
    expect(statSync(join(h.shareDir, 'finder.bin')).size).toBe(data.length);
  });

  it('answers its probes with 404', async () => {
    for (const name of ['._photo.png', '.DS_Store', '.Spotlight-V100', '.metadata_never_index']) {
      const r = await curl([...A, '-X', 'PROPFIND', '-H', 'Depth: 0', u(`/mac/${name}`)]);
      expect(r.status, name).toBe(404);
    }
  });

  it('refuses ._* and .DS_Store on a share that asks, and stores them elsewhere', async () => {
    expect((await curl([...A, '-T', '-', u('/mac/._photo.png')], 'resource fork')).status).toBe(403);
    expect((await curl([...A, '-T', '-', u('/mac/.DS_Store')], 'state')).status).toBe(403);
    expect(readdirSync(apple)).toEqual([]);
    expect((await curl([...A, '-T', '-', u('/files/.DS_Store')], 'state')).status).toBe(201);
  });
});

describe('GNOME', () => {
  it('makes, moves and deletes collections named without a trailing slash', async () => {
    expect((await curl([...A, '-X', 'MKCOL', u('/files/gnome')])).status).toBe(201);
    const move = await curl([...A, '-X', 'MOVE', '-H', `Destination: ${u('/files/gnome2')}`, u('/files/gnome')]);
    expect(move.status).toBe(201);
    const list = await curl([...A, '-X', 'PROPFIND', '-H', 'Depth: 0', u('/files/gnome2')]);
    expect(list.body).toContain('<D:href>/files/gnome2/</D:href>');
    expect((await curl([...A, '-X', 'DELETE', u('/files/gnome2')])).status).toBe(204);
  });

  it('stores, lists and serves .hidden, its list of names to hide (rclone syncs it as any file)', async () => {
    expect((await curl([...A, '-X', 'MKCOL', u('/files/desktop')])).status).toBe(201);
    expect((await curl([...A, '-T', '-', u('/files/desktop/.hidden')], 'snap\n')).status).toBe(201);
    const list = await curl([...A, '-X', 'PROPFIND', '-H', 'Depth: 1', u('/files/desktop/')]);
    expect(hrefsIn(list.body)).toContain('/files/desktop/.hidden');
    const got = await curl([...A, u('/files/desktop/.hidden')]);
    expect([got.status, got.body]).toEqual([200, 'snap\n']);
  });
});

describe('a whole share', () => {
  it('may be copied elsewhere (a COPY only reads it), not moved', async () => {
    writeFileSync(join(apple, 'note.txt'), 'in the share');
    const copy = await curl([...A, '-X', 'COPY', '-H', `Destination: ${u('/home/mac-copy/')}`, u('/mac/')]);
    expect(copy.status).toBe(201);
    expect((await curl([...A, u('/home/mac-copy/note.txt')])).body).toBe('in the share');
    expect((await curl([...A, '-X', 'MOVE', '-H', `Destination: ${u('/home/mac-moved/')}`, u('/mac/')])).status).toBe(403);
    expect((await curl([...A, '-X', 'COPY', '-H', `Destination: ${u('/mac/inside/')}`, u('/mac/')])).status).toBe(403); // into itself
  });
});

describe('names with an & in XML', () => {
  it('are escaped in the hrefs of PROPFIND, PROPPATCH, LOCK and 423 answers', async () => {
    expect((await curl([...A, '-X', 'MKCOL', u('/files/amp%20&%20co')])).status).toBe(201);
    expect((await curl([...A, '-T', '-', u('/files/amp%20&%20co/Tom%20%26%20Jerry.txt')], 'cat and mouse')).status).toBe(201);
    const folder = '/files/amp%20&%20co/';
    const file = `${folder}Tom%20&%20Jerry.txt`;

    const listing = await curl([...A, '-X', 'PROPFIND', '-H', 'Depth: 1', u(folder)]);
    expect(listing.status).toBe(207);
    expect(hrefsIn(listing.body)).toEqual([folder, file]);
    const named = await curl([...A, '-X', 'PROPFIND', '-H', 'Depth: 1', '--data-binary', '<propfind xmlns="DAV:"><prop><getetag/></prop></propfind>', u(folder)]);
    expect(hrefsIn(named.body)).toEqual([folder, file]);

    const patched = await curl([...A, '-X', 'PROPPATCH', '--data-binary', '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:t">1</x></D:prop></D:set></D:propertyupdate>', u(file)]);
    expect(patched.status).toBe(207);
    expect(hrefsIn(patched.body)).toEqual([file]);
    // A member with a dead property goes the general way of rendering.
    expect(hrefsIn((await curl([...A, '-X', 'PROPFIND', '-H', 'Depth: 1', u(folder)])).body)).toEqual([folder, file]);

    const lockinfo = '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>';
    const locked = await curl([...A, '-X', 'LOCK', '-H', 'Depth: infinity', '--data-binary', lockinfo, u(folder)]);
    expect(locked.status).toBe(200);
    const token = locked.headers['lock-token']!.slice(1, -1);
    // The lock token, then the lock root.
    expect(hrefsIn(locked.body)).toEqual([token, folder]);
    const discovered = await curl([...A, '-X', 'PROPFIND', '-H', 'Depth: 1', u(folder)]);
    expect(hrefsIn(discovered.body)).toEqual([folder, token, folder, file, token, folder]);

    const refused = await curl([...A, '-T', '-', u(file)], 'no token');
    expect(refused.status).toBe(423);
    expect(hrefsIn(refused.body)).toEqual([folder]);
    const conflict = await curl([...A, '-X', 'LOCK', '--data-binary', lockinfo, u(file)]);
    expect(conflict.status).toBe(423);
    expect(hrefsIn(conflict.body)).toEqual([folder]);
    expect((await curl([...A, '-X', 'UNLOCK', '-H', `Lock-Token: <${token}>`, u(folder)])).status).toBe(204);
  });
});

describe('a browser', () => {
  it('gets a plain HTML listing with sizes, dates and escaped links', async () => {
    const r = await curl([...A, '-H', 'Accept: text/html', u('/files/')]);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.body).toContain('<a href="/files/photo.png">photo.png</a></td><td class="s">4.9 KiB</td>');
    expect(r.body).toMatch(/<td>\d{4}-\d\d-\d\d \d\d:\d\d<\/td>/);
    expect(r.body).toContain('>a&lt;b&gt;&amp;&quot;c&quot;.txt</a>');
    expect(r.body).not.toContain('<b>');
    expect(r.body).toContain('href="/files/a%3Cb%3E&amp;%22c%22.txt"');
  });

  it('lists folders first, then files, each by the code points of their names', async () => {
    const dir = join(h.shareDir, 'sorted');
    mkdirSync(dir);
    for (const name of ['b.txt', '\u{1F600}.txt', 'a.txt', '\uFF5A.txt', 'A.txt', '\u00e9.txt', '10.txt', '9.txt']) writeFileSync(join(dir, name), name);
    for (const name of ['z', 'B', '\u00c9']) mkdirSync(join(dir, name));
    const r = await curl([...A, '-H', 'Accept: text/html', u('/files/sorted/')]);
    const names = [...r.body.matchAll(/<tr><td><a href="[^"]*">([^<]*)<\/a>/g)].map((m) => m[1]);
    // By code point, not UTF-16 unit: U+FF5A comes before U+1F600 (a surrogate pair, 0xD83D 0xDE00).
    expect(names).toEqual(['../', 'B/', 'z/', '\u00c9/', '10.txt', '9.txt', 'A.txt', 'a.txt', 'b.txt', '\u00e9.txt', '\uFF5A.txt', '\u{1F600}.txt']);
  });

  it('answers HEAD of a collection with the header fields of its GET, its Content-Length included', async () => {
    const headers = { Accept: 'text/html' };
    const got = await request(h.url, 'GET', '/files/sorted/', { headers });
    const head = await request(h.url, 'HEAD', '/files/sorted/', { headers });
    expect(got.headers['transfer-encoding']).toBeUndefined();
    expect(got.headers['content-length']).toBe(String(got.bytes.length));
    expect(head.status).toBe(got.status);
    expect(head.headers['content-length']).toBe(got.headers['content-length']);
    expect(head.headers['content-type']).toBe(got.headers['content-type']);
    // Transfer-Encoding is the one field a HEAD may leave out (RFC 9112 6.1): it is decided while sending the body.
    const names = (h: Record<string, unknown>) => Object.keys(h).filter((n) => n !== 'transfer-encoding').sort();
    expect(names(head.headers)).toEqual(names(got.headers));
    expect(head.bytes.length).toBe(0);
  });

  it('downloads a file with its type and a Content-Disposition', async () => {
    const r = await curl([...A, u('/files/photo.png')]);
    expect(r.headers['content-type']).toBe('image/png');
    expect(r.headers['content-disposition']).toBe('attachment; filename="photo.png"');
    const odd = await curl([...A, u('/files/a%3Cb%3E&%22c%22.txt')]);
    expect(odd.body).toBe('odd name');
    expect(odd.headers['content-disposition']).toBe('attachment; filename="a<b>&_c_.txt"; filename*=UTF-8\'\'a%3Cb%3E%26%22c%22.txt');
  });
});

describe('a file named with a trailing slash', () => {
  it('is 404 to every method, and nothing changes', async () => {
    mkdirSync(join(h.shareDir, 'slash'));
    const file = join(h.shareDir, 'slash', 'cr.txt');
    writeFileSync(file, 'carriage');
    utimesSync(file, 1_600_000_000, 1_600_000_000);
    const lockinfo = '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>';
    const proppatch = '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:t">1</x></D:prop></D:set></D:propertyupdate>';
    const requests: Array<[string, string[]]> = [
      ['GET', []],
      ['HEAD', ['-I']],
      ['DELETE', ['-X', 'DELETE']],
      ['PROPFIND', ['-X', 'PROPFIND', '-H', 'Depth: 0']],
      ['PROPPATCH', ['-X', 'PROPPATCH', '--data-binary', proppatch]],
      ['LOCK', ['-X', 'LOCK', '--data-binary', lockinfo]],
      ['UNLOCK', ['-X', 'UNLOCK', '-H', 'Lock-Token: <urn:uuid:00000000-0000-0000-0000-000000000000>']],
      ['PUT', ['-T', '-']],
      ['MKCOL', ['-X', 'MKCOL']],
      ['COPY', ['-X', 'COPY', '-H', `Destination: ${u('/files/slash/copied.txt')}`]],
      ['MOVE', ['-X', 'MOVE', '-H', `Destination: ${u('/files/slash/moved.txt')}`]],
    ];
    for (const [method, args] of requests) {
      const r = await curl([...A, ...args, u('/files/slash/cr.txt/')], 'replaced');
      expect(r.status, method).toBe(404);
    }
    // Nor is a file a collection to copy into.
    writeFileSync(join(h.shareDir, 'slash', 'other.txt'), 'other');
    expect((await curl([...A, '-X', 'COPY', '-H', `Destination: ${u('/files/slash/cr.txt/')}`, u('/files/slash/other.txt')])).status).toBe(404);
    expect(readdirSync(join(h.shareDir, 'slash')).sort()).toEqual(['cr.txt', 'other.txt']);
    expect(readFileSync(file, 'utf8')).toBe('carriage');
    expect(statSync(file).mtimeMs).toBe(1_600_000_000_000);
    const props = await curl([...A, '-X', 'PROPFIND', '-H', 'Depth: 0', u('/files/slash/cr.txt')]);
    expect(props.status).toBe(207);
    expect(props.body).toContain('<D:lockdiscovery/>');
    expect(props.body).not.toContain('urn:t');
    // Nor does a PUT make a file where nothing is yet (the URL names a collection).
    expect((await curl([...A, '-T', '-', u('/files/slash/new.txt/')], 'new')).status).toBe(409);
    expect(existsSync(join(h.shareDir, 'slash', 'new.txt'))).toBe(false);
    // Without the slash, the file is there.
    expect((await curl([...A, u('/files/slash/cr.txt')])).body).toBe('carriage');
  });
});

describe('protocol answers', () => {
  it('serves single and multiple byte ranges', async () => {
    const one = await curl([...A, '-H', 'Range: bytes=2-5', u('/files/digits.txt')]);
    expect(one.status).toBe(206);
    expect(one.body).toBe('2345');
    expect(one.headers['content-range']).toBe('bytes 2-5/20');
    const two = await curl([...A, '-H', 'Range: bytes=0-1,-3', u('/files/digits.txt')]);
    expect(two.status).toBe(206);
    expect(two.headers['content-type']).toMatch(/^multipart\/byteranges; boundary=/);
    expect(two.body).toMatch(/Content-Range: bytes 0-1\/20\r\n\r\n01\r\n/);
    expect(two.body).toMatch(/Content-Range: bytes 17-19\/20\r\n\r\nhij\r\n/);
    const none = await curl([...A, '-H', 'Range: bytes=50-60', u('/files/digits.txt')]);
    expect(none.status).toBe(416);
  });

  it('answers 401 with a realm, 403 to a user without rights, 404 for no such share', async () => {
    const anon = await curl(['-X', 'PROPFIND', u('/files/')]);
    expect(anon.status).toBe(401);
    expect(anon.headers['www-authenticate']).toBe('Basic realm="Hearth files", charset="UTF-8"');
    expect((await curl(['-u', 'carol:pw', '-X', 'PROPFIND', '-H', 'Depth: 0', u('/files/')])).status).toBe(403);
    expect((await curl([...A, '-X', 'PROPFIND', '-H', 'Depth: 0', u('/nosuch/')])).status).toBe(404);
  });

  it('answers requests that carry no body (neither Content-Length nor Transfer-Encoding) as having an empty one', async () => {
    // Written byte for byte, so that nothing announces a body. From Node 24.12 on, the server hands
    // such a request over already ended, and it emits no events (`optimizeEmptyRequests`).
    const bodiless = (method: string, path: string, headers = '') =>
      rawRequest(h.port, Buffer.from(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic ${Buffer.from('alice:secret').toString('base64')}\r\n${headers}Connection: close\r\n\r\n`));
    const list = await bodiless('PROPFIND', '/files/', 'Depth: 1\r\n');
    expect(list.status).toBe(207);
    expect(hrefsIn(list.body)).toContain('/files/digits.txt');
    expect(list.body).toContain('<D:getcontentlength>20</D:getcontentlength>');
    expect((await bodiless('PROPFIND', '/nosuch/', 'Depth: 0\r\n')).status).toBe(404);
    writeFileSync(join(h.shareDir, 'emptied.txt'), 'old content');
    expect((await bodiless('PUT', '/files/emptied.txt')).status).toBe(204);
    expect(readFileSync(join(h.shareDir, 'emptied.txt'), 'utf8')).toBe('');
    expect((await bodiless('PUT', '/files/made-empty.txt')).status).toBe(201);
    expect(readFileSync(join(h.shareDir, 'made-empty.txt'), 'utf8')).toBe('');
    const patch = await bodiless('PROPPATCH', '/files/digits.txt');
    expect(patch.status).toBe(400);
    const lock = await bodiless('LOCK', '/files/digits.txt');
    expect(lock.status).toBe(400);
    expect((await bodiless('GET', '/files/digits.txt')).body).toBe('0123456789abcdefghij');
  });

  it('refuses PROPFIND Depth infinity with propfind-finite-depth', async () => {
    const r = await curl([...A, '-X', 'PROPFIND', '-H', 'Depth: infinity', u('/files/')]);
    expect(r.status).toBe(403);
    expect(r.body).toContain('<D:propfind-finite-depth/>');
  });

  it('writes one access log line per request', async () => {
    await curl([...A, u('/files/digits.txt')]);
    const line = logLines.findLast((l) => l['msg'] === 'request' && l['path'] === '/files/digits.txt');
    expect(line).toMatchObject({ method: 'GET', status: 200, bytes: 20, user: 'alice', remote: '127.0.0.1' });
    expect(typeof line!['ms']).toBe('number');
  });
});
