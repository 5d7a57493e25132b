/**
 * Large listings over HTTP: a folder of a few thousand members (many batches, each sent as one
 * chunk; a listing within 64 KiB is sent whole, with its length) is listed whole, each member once, in the folder's order, with its own size, ETag, dead
 * properties and locks; the same bytes every time, and for listings made at the same time; Depth
 * infinity through such folders lists each sub-folder's members after it; a browser's HTML listing
 * of it (walked the same way) has each member once, folders first and then files by name, with its size.
 * A folder listed again, for all properties or for named ones, gives each member as it is then (its
 * responses kept from the listing before are sent only for members whose stats have not changed): a
 * file grown, replaced, touched or made a folder, one removed or added, a dead property set or
 * removed, a lock taken and released.
 */
import { appendFileSync, chmodSync, mkdirSync, opendirSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request, startServer, type Harness } from './helpers.js';

let h: Harness;
const FILES = 2600;
const big = (): string => join(h.shareDir, 'big');
const LOCKINFO = '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>alice</D:owner></D:lockinfo>';

beforeAll(async () => {
  h = await startServer({ settings: (_dir, base) => ({ ...base, propfindInfinity: true }) });
  mkdirSync(join(big(), 'sub', 'deeper'), { recursive: true });
  mkdirSync(join(big(), 'empty'));
  for (let i = 0; i < FILES; i++) writeFileSync(join(big(), `f${i}.txt`), 'x'.repeat(i % 97));
  for (let i = 0; i < 700; i++) writeFileSync(join(big(), 'sub', `s${i}.txt`), 'y');
  writeFileSync(join(big(), 'sub', 'deeper', 'last.txt'), 'z');
  writeFileSync(join(big(), 'Grüße & <Tag>.txt'), 'non-ASCII');
  // A link out of the share is not listed; one inside is, as what it leads to.
  symlinkSync(h.dataDir, join(big(), 'out-link'));
  symlinkSync(join(big(), 'f1.txt'), join(big(), 'in-link'));
  const dead = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:example:"><D:set><D:prop><Z:colour>blue</Z:colour></D:prop></D:set></D:propertyupdate>';
  expect((await request(h.url, 'PROPPATCH', '/files/big/f1000.txt', { body: dead })).status).toBe(207);
  expect((await request(h.url, 'LOCK', '/files/big/f2000.txt', { body: LOCKINFO, headers: { Timeout: 'Second-600' } })).status).toBe(200);
}, 60_000);
afterAll(() => h.close());

/** The `<D:response>` elements of a multistatus, by href (an `&` in it is written `&amp;`), in order. */
function responses(body: string): Array<[string, string]> {
  return [...body.matchAll(/<D:response><D:href>([^<]*)<\/D:href>(.*?)<\/D:response>/gs)].map((m) => [decodeURIComponent(m[1]!.replaceAll('&amp;', '&')), m[2]!]);
}

/** What the folder lists, in the order the folder gives its names (readdir's sorts them). */
function expectedNames(dir: string): string[] {
  const folder = opendirSync(dir);
  const names: string[] = [];
  try {
    for (let e = folder.readSync(); e !== null; e = folder.readSync()) if (e.name !== 'out-link') names.push(e.isDirectory() ? `${e.name}/` : e.name);
  } finally {
    folder.closeSync();
  }
  return names;
}

it('lists a folder of thousands whole, in order, each member with its own properties', async () => {
  const r = await request(h.url, 'PROPFIND', '/files/big/', { headers: { Depth: '1' } });
  expect(r.status).toBe(207);
  const listed = responses(r.body);
  expect(listed.map(([href]) => href)).toEqual(['/files/big/', ...expectedNames(big()).map((n) => `/files/big/${n}`)]);
  const byHref = new Map(listed);
  for (const i of [0, 5, 1234, FILES - 1]) {
    const st = statSync(join(big(), `f${i}.txt`));
    const props = byHref.get(`/files/big/f${i}.txt`)!;
    expect(props).toContain(`<D:getcontentlength>${i % 97}</D:getcontentlength>`);
    expect(props).toContain(`<D:getetag>&quot;${st.ino.toString(16)}-${st.size.toString(16)}-${Math.round(st.mtimeMs * 1000).toString(16)}&quot;</D:getetag>`);
    // The whole second, cut down (Node's st.mtime rounds to the millisecond first).
    expect(props).toContain(`<D:getlastmodified>${new Date(Math.floor(st.mtimeMs / 1000) * 1000).toUTCString()}</D:getlastmodified>`);
    expect(props).toContain('<D:lockdiscovery/>');
  }
  expect(byHref.get('/files/big/f1000.txt')).toContain('<colour xmlns="urn:example:">blue</colour>');
  expect(r.body.match(/urn:example:/g)).toHaveLength(1);
  expect(byHref.get('/files/big/f2000.txt')).toMatch(/<D:activelock>.*<D:lockroot><D:href>\/files\/big\/f2000.txt<\/D:href>/s);
  expect(r.body.match(/<D:activelock>/g)).toHaveLength(1);
  expect(byHref.get('/files/big/sub/')).toContain('<D:resourcetype><D:collection/></D:resourcetype>');
  expect(byHref.get('/files/big/in-link')).toContain(`<D:getcontentlength>1</D:getcontentlength>`);
  expect(byHref.get('/files/big/Grüße & <Tag>.txt')).toContain('<D:displayname>Grüße &amp; &lt;Tag&gt;.txt</D:displayname>');
});

it('sends a listing that ends within 64 KiB whole with its length, a longer one chunked as it is made', async () => {
  const small = await request(h.url, 'PROPFIND', '/files/big/sub/deeper/', { headers: { Depth: '1' } });
  expect(small.status).toBe(207);
  expect(small.headers['transfer-encoding']).toBeUndefined();
  expect(small.headers['content-length']).toBe(String(small.bytes.length));
  expect(responses(small.body).map(([href]) => href)).toEqual(['/files/big/sub/deeper/', '/files/big/sub/deeper/last.txt']);
  const page = await request(h.url, 'GET', '/files/big/sub/deeper/', { headers: { Accept: 'text/html' } });
  expect([page.status, page.headers['content-length'], page.headers['transfer-encoding']]).toEqual([200, String(page.bytes.length), undefined]);
  expect(page.body).toContain('<a href="/files/big/sub/deeper/last.txt">last.txt</a>');
  // A HEAD has the GET's length: the page is made to know it.
  const head = await request(h.url, 'HEAD', '/files/big/sub/deeper/', { headers: { Accept: 'text/html' } });
  expect([head.status, head.headers['content-type'], head.headers['content-length'], head.bytes.length]).toEqual([200, 'text/html; charset=utf-8', String(page.bytes.length), 0]);
  const large = await request(h.url, 'PROPFIND', '/files/big/', { headers: { Depth: '1' } });
  expect(large.status).toBe(207);
  expect(large.bytes.length).toBeGreaterThan(64 * 1024);
  expect(large.headers['transfer-encoding']).toBe('chunked');
  expect(large.headers['content-length']).toBeUndefined();
  expect(responses(large.body)).toHaveLength(expectedNames(big()).length + 1);
  const largePage = await request(h.url, 'GET', '/files/big/', { headers: { Accept: 'text/html' } });
  expect([largePage.headers['transfer-encoding'], largePage.headers['content-length']]).toEqual(['chunked', undefined]);
  const largeHead = await request(h.url, 'HEAD', '/files/big/', { headers: { Accept: 'text/html' } });
  expect([largeHead.status, largeHead.headers['content-length'], largeHead.bytes.length]).toEqual([200, undefined, 0]);
});

it('gives the same bytes each time and to listings made at the same time', async () => {
  const first = await request(h.url, 'PROPFIND', '/files/big/', { headers: { Depth: '1' } });
  const together = await Promise.all([1, 2, 3].map(() => request(h.url, 'PROPFIND', '/files/big/', { headers: { Depth: '1' } })));
  const named = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getcontentlength/><D:displayname/></D:prop></D:propfind>';
  const props = await request(h.url, 'PROPFIND', '/files/big/', { headers: { Depth: '1' }, body: named });
  // The lock's remaining time is the one thing that changes from one second to the next.
  const lasting = (body: string): string => body.replace(/<D:timeout>Second-\d+<\/D:timeout>/, '<D:timeout/>');
  for (const r of together) {
    expect(r.status).toBe(207);
    expect(lasting(r.body)).toBe(lasting(first.body));
  }
  const listed = responses(props.body);
  expect(listed).toHaveLength(expectedNames(big()).length + 1);
  expect(new Map(listed).get('/files/big/f96.txt')).toBe('<D:propstat><D:prop><D:getcontentlength>96</D:getcontentlength><D:displayname>f96.txt</D:displayname></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>');
  // A folder has no length: 404 for it, in its own propstat.
  expect(new Map(listed).get('/files/big/sub/')).toContain('<D:prop><D:getcontentlength/></D:prop><D:status>HTTP/1.1 404 Not Found</D:status>');
});

it('lists every member of a tree once with Depth infinity, each folder before its members', async () => {
  const r = await request(h.url, 'PROPFIND', '/files/big/', { headers: { Depth: 'infinity' } });
  expect(r.status).toBe(207);
  const hrefs = responses(r.body).map(([href]) => href);
  expect(new Set(hrefs).size).toBe(hrefs.length);
  const expected = ['/files/big/', ...expectedNames(big()).map((n) => `/files/big/${n}`), ...expectedNames(join(big(), 'sub')).map((n) => `/files/big/sub/${n}`), '/files/big/sub/deeper/last.txt'];
  expect([...hrefs].sort()).toEqual([...expected].sort());
  const at = (href: string): number => hrefs.indexOf(href);
  expect(at('/files/big/sub/s0.txt')).toBeGreaterThan(at('/files/big/sub/'));
  expect(at('/files/big/sub/deeper/last.txt')).toBeGreaterThan(at('/files/big/sub/deeper/'));
  // The members of a folder stay together, in its order.
  const subMembers = hrefs.filter((x) => /^\/files\/big\/sub\/[^/]+\/?$/.test(x));
  expect(subMembers).toEqual(expectedNames(join(big(), 'sub')).map((n) => `/files/big/sub/${n}`));
});

/** Folders first, then files, each by the code points of their names (what a browser's listing shows). */
function listingOrder(names: readonly string[]): string[] {
  const key = (n: string): [boolean, Buffer] => [n.endsWith('/'), Buffer.from(n.replace(/\/$/, ''))];
  return [...names].sort((a, b) => {
    const [fa, ka] = key(a);
    const [fb, kb] = key(b);
    return fa !== fb ? (fa ? -1 : 1) : Buffer.compare(ka, kb);
  });
}

it('gives a browser the whole folder, sorted, each member once with its size', async () => {
  const r = await request(h.url, 'GET', '/files/big/', { headers: { Accept: 'text/html' } });
  expect(r.status).toBe(200);
  expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
  const rows = [...r.body.matchAll(/<tr><td><a href="([^"]*)">([^<]*)<\/a><\/td><td class="s">([^<]*)<\/td>/g)].map((m) => ({ href: m[1]!, name: m[2]!, size: m[3]! }));
  // An href is escaped as HTML (& as &amp;) around its percent-encoding.
  expect(rows.map((x) => decodeURIComponent(x.href.replaceAll('&amp;', '&')))).toEqual(['/files/', ...listingOrder(expectedNames(big())).map((n) => `/files/big/${n}`)]);
  const byName = new Map(rows.map((x) => [x.name, x.size]));
  expect(byName.get('f50.txt')).toBe('50 B');
  expect(byName.get('sub/')).toBe('');
  expect(byName.get('in-link')).toBe('1 B');
  expect(byName.has('Grüße &amp; &lt;Tag&gt;.txt')).toBe(true);
  expect(r.body).not.toContain('out-link');
  expect(r.body.endsWith('</table></body></html>\n')).toBe(true);
});

/** What a listing's response says of the file at `path` now: its length, ETag and modification time. */
function fileProps(path: string): string[] {
  const st = statSync(path);
  return [
    `<D:getcontentlength>${st.size}</D:getcontentlength>`,
    `<D:getetag>&quot;${st.ino.toString(16)}-${st.size.toString(16)}-${Math.round(st.mtimeMs * 1000).toString(16)}&quot;</D:getetag>`,
    `<D:getlastmodified>${new Date(Math.floor(st.mtimeMs / 1000) * 1000).toUTCString()}</D:getlastmodified>`,
  ];
}

it('lists a folder again as it is then: members changed, removed and added, properties and locks', async () => {
  const again = join(h.shareDir, 'again');
  mkdirSync(again);
  // More than one batch of members (256).
  for (let i = 0; i < 600; i++) writeFileSync(join(again, `m${i}.txt`), 'a'.repeat(i % 13));
  const list = async (): Promise<Map<string, string>> => {
    const r = await request(h.url, 'PROPFIND', '/files/again/', { headers: { Depth: '1' } });
    expect(r.status).toBe(207);
    return new Map(responses(r.body));
  };
  // Named properties, as Finder, Windows and rclone ask (one of them a dead property's).
  const NAMED = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:example:"><D:prop><D:getlastmodified/><D:getcontentlength/><D:resourcetype/><D:getetag/><Z:colour/></D:prop></D:propfind>';
  const named = async (): Promise<Map<string, string>> => {
    const r = await request(h.url, 'PROPFIND', '/files/again/', { headers: { Depth: '1' }, body: NAMED });
    expect(r.status).toBe(207);
    return new Map(responses(r.body));
  };
  const first = await list();
  expect(first.size).toBe(601);
  const firstNamed = await named();
  expect(firstNamed.get('/files/again/m8.txt')).toContain('<D:prop><colour xmlns="urn:example:"/></D:prop><D:status>HTTP/1.1 404 Not Found</D:status>');
  // Listed once more, unchanged: the same responses.
  expect(await list()).toEqual(first);
  expect(await named()).toEqual(firstNamed);

  appendFileSync(join(again, 'm1.txt'), 'grown');
  // Replaced by a file of the same length (a new inode), as an editor saves.
  writeFileSync(join(again, 'm2.new'), 'b'.repeat(2));
  renameSync(join(again, 'm2.new'), join(again, 'm2.txt'));
  utimesSync(join(again, 'm3.txt'), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));
  // Its change time only: shown only as its creation date where the file system keeps no birth time.
  chmodSync(join(again, 'm4.txt'), 0o600);
  rmSync(join(again, 'm5.txt'));
  rmSync(join(again, 'm6.txt'));
  mkdirSync(join(again, 'm6.txt'));
  writeFileSync(join(again, 'added.txt'), 'new');
  const dead = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:example:"><D:set><D:prop><Z:colour>green</Z:colour></D:prop></D:set></D:propertyupdate>';
  expect((await request(h.url, 'PROPPATCH', '/files/again/m7.txt', { body: dead })).status).toBe(207);

  const second = await list();
  expect(second.size).toBe(601);
  for (const name of ['m1.txt', 'm2.txt', 'm3.txt', 'added.txt']) {
    for (const prop of fileProps(join(again, name))) expect(second.get(`/files/again/${name}`)).toContain(prop);
  }
  expect(second.get('/files/again/m1.txt')).not.toBe(first.get('/files/again/m1.txt'));
  expect(second.get('/files/again/m2.txt')).not.toBe(first.get('/files/again/m2.txt'));
  expect(second.get('/files/again/m3.txt')).toContain('<D:getlastmodified>Sat, 03 Feb 2001 04:05:06 GMT</D:getlastmodified>');
  const m4 = statSync(join(again, 'm4.txt'));
  const created = new Date(Math.floor((m4.birthtimeMs > 0 ? m4.birthtimeMs : m4.ctimeMs) / 1000) * 1000).toISOString().slice(0, 19);
  expect(second.get('/files/again/m4.txt')).toBe(first.get('/files/again/m4.txt')!.replace(/<D:creationdate>[^<]*</, `<D:creationdate>${created}Z<`));
  expect(second.has('/files/again/m5.txt')).toBe(false);
  expect(second.has('/files/again/m6.txt')).toBe(false);
  expect(second.get('/files/again/m6.txt/')).toContain('<D:resourcetype><D:collection/></D:resourcetype>');
  expect(second.get('/files/again/m7.txt')).toContain('<colour xmlns="urn:example:">green</colour>');
  // Every member not touched: as the first time.
  for (let i = 8; i < 600; i++) expect(second.get(`/files/again/m${i}.txt`)).toBe(first.get(`/files/again/m${i}.txt`));
  const secondNamed = await named();
  for (const name of ['m1.txt', 'm2.txt', 'm3.txt', 'added.txt']) {
    for (const prop of fileProps(join(again, name))) expect(secondNamed.get(`/files/again/${name}`)).toContain(prop);
  }
  expect(secondNamed.get('/files/again/m4.txt')).toBe(firstNamed.get('/files/again/m4.txt'));
  expect(secondNamed.has('/files/again/m5.txt')).toBe(false);
  expect(secondNamed.get('/files/again/m6.txt/')).toContain('<D:resourcetype><D:collection/></D:resourcetype>');
  expect(secondNamed.get('/files/again/m7.txt')).toContain('<colour xmlns="urn:example:">green</colour>');
  for (let i = 8; i < 600; i++) expect(secondNamed.get(`/files/again/m${i}.txt`)).toBe(firstNamed.get(`/files/again/m${i}.txt`));

  // A lock on a member, then none.
  const locked = await request(h.url, 'LOCK', '/files/again/m9.txt', { body: LOCKINFO, headers: { Timeout: 'Second-600' } });
  expect(locked.status).toBe(200);
  const third = await list();
  expect(third.get('/files/again/m9.txt')).toMatch(/<D:activelock>.*<D:lockroot><D:href>\/files\/again\/m9.txt<\/D:href>/s);
  expect(third.get('/files/again/m10.txt')).toBe(first.get('/files/again/m10.txt'));
  const token = String(locked.headers['lock-token']);
  expect((await request(h.url, 'UNLOCK', '/files/again/m9.txt', { headers: { 'Lock-Token': token } })).status).toBe(204);
  const remove = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:example:"><D:remove><D:prop><Z:colour/></D:prop></D:remove></D:propertyupdate>';
  expect((await request(h.url, 'PROPPATCH', '/files/again/m7.txt', { body: remove })).status).toBe(207);
  const fourth = await list();
  expect(fourth.get('/files/again/m9.txt')).toBe(first.get('/files/again/m9.txt'));
  expect(fourth.get('/files/again/m7.txt')).toBe(first.get('/files/again/m7.txt'));
  // Everything else as the listings after the changes gave it.
  expect(fourth).toEqual(new Map(second).set('/files/again/m7.txt', first.get('/files/again/m7.txt')!));
  expect(await named()).toEqual(new Map(secondNamed).set('/files/again/m7.txt', firstNamed.get('/files/again/m7.txt')!));
});

it('lists a tree with Depth infinity from kept responses as made afresh, descending into each folder', async () => {
  const tree = join(h.shareDir, 'tree');
  for (const d of ['d1', 'd2', 'd2/deep']) mkdirSync(join(tree, d), { recursive: true });
  for (let i = 0; i < 40; i++) writeFileSync(join(tree, `f${i}.txt`), 'x'.repeat(i));
  writeFileSync(join(tree, 'd1', 'one.txt'), '1');
  writeFileSync(join(tree, 'd2', 'two.txt'), '22');
  writeFileSync(join(tree, 'd2', 'deep', 'three.txt'), '333');
  const listing = async (depth: string): Promise<Array<[string, string]>> => {
    const r = await request(h.url, 'PROPFIND', '/files/tree/', { headers: { Depth: depth } });
    expect(r.status).toBe(207);
    return responses(r.body);
  };
  // Made afresh (the folder's first listing keeps nothing), then kept (its second).
  const afresh = new Map(await listing('1'));
  expect(new Map(await listing('1'))).toEqual(afresh);
  // The folder's members now come from what was kept, its sub-folders' from their own listings.
  for (let round = 0; round < 3; round++) {
    const all = await listing('infinity');
    const hrefs = all.map(([href]) => href);
    expect([...hrefs].sort()).toEqual(
      ['/files/tree/', ...expectedNames(tree).map((n) => `/files/tree/${n}`), '/files/tree/d1/one.txt', '/files/tree/d2/two.txt', '/files/tree/d2/deep/', '/files/tree/d2/deep/three.txt'].sort(),
    );
    for (const [href, props] of all) if (afresh.has(href) && href !== '/files/tree/') expect(props).toBe(afresh.get(href));
    expect(hrefs.indexOf('/files/tree/d2/two.txt')).toBeGreaterThan(hrefs.indexOf('/files/tree/d2/'));
    expect(hrefs.indexOf('/files/tree/d2/deep/three.txt')).toBeGreaterThan(hrefs.indexOf('/files/tree/d2/deep/'));
    for (const prop of fileProps(join(tree, 'd2', 'deep', 'three.txt'))) expect(new Map(all).get('/files/tree/d2/deep/three.txt')).toContain(prop);
  }
});
