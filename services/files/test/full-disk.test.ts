/**
 * The file service on a full disk: its data directory (the share, the dead properties, the locks,
 * the quota counts) lives on a small tmpfs mounted for this test (the tests run as root), filled
 * until a write fails. Every change the disk has no room for is answered 507 and leaves things as
 * they were: no partial file or copy, no property or lock half recorded, the old file whole.
 * Reading goes on. Once there is room again, the same requests succeed. On the same tmpfs, a
 * PROPPATCH whose modification time the file system refuses (an immutable file) takes back the
 * properties it had recorded. On a second one, what ends something (an UNLOCK, a DELETE, the
 * properties of a file a COPY replaces, the lock a MOVE leaves behind, an upload's reservation
 * given back) goes through on the full disk by giving up the room the service keeps back for it;
 * a lock refresh, which ends nothing, is 507 and leaves the lock's timeout as it was.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { RESERVE_BYTES, SpaceReserve } from '@hearth/sqlite';
import { mountSmallDisk, waitFor, type SmallDisk } from '@hearth/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, startServer, type Harness, type RawResult } from './helpers.js';

let disk: SmallDisk;
let mnt: string;
let h: Harness;
/** The small disks mounted, unmounted at the end. */
const disks: SmallDisk[] = [];

/** The file that takes the disk's room (outside the shares). */
const filler = (dir = mnt): string => join(dir, 'filler');

/** A new 12 MiB tmpfs with an empty folder for the share `capped`. */
function mountDisk(): SmallDisk {
  const d = mountSmallDisk('12m', 'files-full-disk-');
  disks.push(d);
  mkdirSync(join(d.path, 'capped'));
  return d;
}

/** The test server on `dir`, with the share `capped` (a quota of 8 MiB) beside `files`. */
function startOn(dir: string): Promise<Harness> {
  return startServer({
    dataDir: dir,
    settings: (dataDir, base) => ({
      ...base,
      shares: { ...base.shares, capped: { path: join(dataDir, 'capped'), read: [], write: ['alice'], refuseAppleFiles: false, quota: 8 * 1024 * 1024 } },
    }),
  });
}

/** Fills `d` until it refuses even 512 bytes. */
function fill(d = disk): void {
  d.fill();
  expect(d.free()).toBeLessThan(4096);
}

/** Gives back `bytes` of the filler's room. */
function makeRoom(bytes: number): void {
  truncateSync(filler(), statSync(filler()).size - bytes);
}

const KEEP = Buffer.alloc(64 * 1024, 'k');
const MEMBER = Buffer.alloc(256 * 1024, 'm');
const Z = 'urn:example:full-disk';
const LAST_MODIFIED = 'Sun, 13 Sep 2020 12:26:40 GMT';

function setProp(name: string, value: string, extra = ''): string {
  return `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="${Z}"><D:set><D:prop><Z:${name}>${value}</Z:${name}>${extra}</D:prop></D:set></D:propertyupdate>`;
}

const LOCKINFO = '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>full-disk test</D:owner></D:lockinfo>';

const QUOTA_AVAILABLE = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:quota-available-bytes/></D:prop></D:propfind>';

const propfind = (path: string): Promise<RawResult> => request(h.url, 'PROPFIND', path, { headers: { Depth: '0' } });

async function expectStatus(pending: Promise<RawResult>, status: number): Promise<RawResult> {
  const r = await pending;
  expect(r.status, r.body).toBe(status);
  return r;
}

beforeAll(async () => {
  disk = mountDisk();
  mnt = disk.path;
  h = await startOn(mnt);
  await expectStatus(request(h.url, 'PUT', '/files/keep.txt', { body: KEEP }), 201);
  await expectStatus(request(h.url, 'PROPPATCH', '/files/keep.txt', { body: setProp('color', 'blue') }), 207);
  await expectStatus(request(h.url, 'PUT', '/files/note.txt', { body: 'a note' }), 201);
  await expectStatus(request(h.url, 'PROPPATCH', '/files/note.txt', { body: setProp('tag', 'first') }), 207);
  await expectStatus(request(h.url, 'MKCOL', '/files/tree'), 201);
  for (const name of ['a.bin', 'b.bin', 'c.bin']) await expectStatus(request(h.url, 'PUT', `/files/tree/${name}`, { body: MEMBER }), 201);
  await expectStatus(request(h.url, 'PUT', '/capped/small.txt', { body: 'small' }), 201);
  fill();
});

const servers: Harness[] = [];

afterAll(async () => {
  for (const server of [h, ...servers]) await server?.files.stop(Date.now() + 2000);
  for (const d of disks) d.unmount();
});

describe('on a full disk', () => {
  it('refuses an upload with 507 and keeps the old file, leaving no partial file', async () => {
    const over = await expectStatus(request(h.url, 'PUT', '/files/keep.txt', { body: Buffer.alloc(512 * 1024, 'n') }), 507);
    expect(over.body).toBe('PUT: no space left\n');
    await expectStatus(request(h.url, 'PUT', '/files/new.bin', { body: Buffer.alloc(512 * 1024, 'n') }), 507);
    await expectStatus(request(h.url, 'PUT', '/files/chunked.bin', { headers: { 'Transfer-Encoding': 'chunked' }, body: Buffer.alloc(512 * 1024, 'n') }), 507);
    // A share with a quota: its count cannot take the reservation.
    await expectStatus(request(h.url, 'PUT', '/capped/new.bin', { body: Buffer.alloc(64 * 1024, 'n') }), 507);
    const kept = await expectStatus(request(h.url, 'GET', '/files/keep.txt'), 200);
    expect(kept.bytes.equals(KEEP)).toBe(true);
    expect(readdirSync(h.shareDir).sort()).toEqual(['keep.txt', 'note.txt', 'tree']);
    expect(readdirSync(join(mnt, 'capped'))).toEqual(['small.txt']);
  });

  it('answers a PROPPATCH with 507 for every property and changes nothing, the time included', async () => {
    const before = await propfind('/files/keep.txt');
    const lastModified = /<D:getlastmodified>([^<]*)</.exec(before.body)?.[1];
    expect(lastModified).toBeDefined();
    expect(lastModified).not.toBe(LAST_MODIFIED);
    const r = await expectStatus(request(h.url, 'PROPPATCH', '/files/keep.txt', { body: setProp('color', 'red', `<D:getlastmodified>${LAST_MODIFIED}</D:getlastmodified>`) }), 207);
    expect(r.body).toContain('<D:status>HTTP/1.1 507 Insufficient Storage</D:status>');
    expect(r.body).not.toContain('200 OK');
    const after = await propfind('/files/keep.txt');
    expect(after.body).toContain('>blue</');
    expect(after.body).not.toContain('>red</');
    expect(/<D:getlastmodified>([^<]*)</.exec(after.body)?.[1]).toBe(lastModified);
  });

  it('refuses a LOCK with 507, leaving neither a lock nor an empty file for it', async () => {
    await expectStatus(request(h.url, 'LOCK', '/files/keep.txt', { headers: { Timeout: 'Second-600' }, body: LOCKINFO }), 507);
    expect((await propfind('/files/keep.txt')).body).toContain('<D:lockdiscovery/>');
    // On an unmapped URL the lock would have made an empty file.
    await expectStatus(request(h.url, 'LOCK', '/files/locked.txt', { headers: { Timeout: 'Second-600' }, body: LOCKINFO }), 507);
    await expectStatus(request(h.url, 'GET', '/files/locked.txt'), 404);
    expect(readdirSync(h.shareDir).sort()).toEqual(['keep.txt', 'note.txt', 'tree']);
  });

  it('takes a MOVE back when its properties cannot follow', async () => {
    await expectStatus(request(h.url, 'MOVE', '/files/note.txt', { headers: { Destination: `${h.url}/files/moved.txt` } }), 507);
    await expectStatus(request(h.url, 'GET', '/files/moved.txt'), 404);
    expect((await expectStatus(request(h.url, 'GET', '/files/note.txt'), 200)).body).toBe('a note');
    expect((await propfind('/files/note.txt')).body).toContain('>first</');
  });

  it('removes a folder copy cut short', async () => {
    // Room for one member of the three, not for all.
    makeRoom(MEMBER.length + 64 * 1024);
    const room = disk.free();
    await expectStatus(request(h.url, 'COPY', '/files/tree', { headers: { Destination: `${h.url}/files/tree2`, Depth: 'infinity' } }), 507);
    expect(readdirSync(h.shareDir).sort()).toEqual(['keep.txt', 'note.txt', 'tree']);
    expect(disk.free()).toBe(room);
    fill();
  });

  it('goes on answering reads', async () => {
    expect((await expectStatus(request(h.url, 'GET', '/files/tree/b.bin'), 200)).bytes.equals(MEMBER)).toBe(true);
    const listing = await expectStatus(request(h.url, 'PROPFIND', '/files/', { headers: { Depth: '1' } }), 207);
    expect(listing.body.match(/<D:response>/g)).toHaveLength(4);
  });
});

describe('once there is room again', () => {
  beforeAll(() => rmSync(filler()));

  it('takes the same requests', async () => {
    await expectStatus(request(h.url, 'PUT', '/files/new.bin', { body: Buffer.alloc(512 * 1024, 'n') }), 201);
    await expectStatus(request(h.url, 'PUT', '/capped/new.bin', { body: Buffer.alloc(64 * 1024, 'n') }), 201);
    const patched = await expectStatus(request(h.url, 'PROPPATCH', '/files/keep.txt', { body: setProp('color', 'red', `<D:getlastmodified>${LAST_MODIFIED}</D:getlastmodified>`) }), 207);
    expect(patched.body).not.toContain('507');
    const after = await propfind('/files/keep.txt');
    expect(after.body).toContain('>red</');
    expect(after.body).toContain(`<D:getlastmodified>${LAST_MODIFIED}</D:getlastmodified>`);
    await expectStatus(request(h.url, 'LOCK', '/files/locked.txt', { headers: { Timeout: 'Second-600' }, body: LOCKINFO }), 201);
    await expectStatus(request(h.url, 'MOVE', '/files/note.txt', { headers: { Destination: `${h.url}/files/moved.txt` } }), 201);
    expect((await propfind('/files/moved.txt')).body).toContain('>first</');
    await expectStatus(request(h.url, 'COPY', '/files/tree', { headers: { Destination: `${h.url}/files/tree2`, Depth: 'infinity' } }), 201);
    expect(readdirSync(join(h.shareDir, 'tree2')).sort()).toEqual(['a.bin', 'b.bin', 'c.bin']);
  });
});

describe('a modification time the file system refuses', () => {
  it('takes back the properties recorded with it', async () => {
    await expectStatus(request(h.url, 'PUT', '/files/frozen.txt', { body: 'frozen' }), 201);
    await expectStatus(request(h.url, 'PROPPATCH', '/files/frozen.txt', { body: setProp('color', 'blue') }), 207);
    execFileSync('chattr', ['+i', join(h.shareDir, 'frozen.txt')]);
    try {
      const r = await request(h.url, 'PROPPATCH', '/files/frozen.txt', {
        body: `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="${Z}"><D:set><D:prop><Z:color>red</Z:color><Z:size>large</Z:size><D:getlastmodified>${LAST_MODIFIED}</D:getlastmodified></D:prop></D:set><D:remove><D:prop><Z:color/></D:prop></D:remove></D:propertyupdate>`,
      });
      expect(r.status, r.body).toBe(403);
    } finally {
      execFileSync('chattr', ['-i', join(h.shareDir, 'frozen.txt')]);
    }
    const after = await propfind('/files/frozen.txt');
    expect(after.body).toContain('>blue</');
    expect(after.body).not.toContain('large');
    expect(after.body).not.toContain(LAST_MODIFIED);
  });
});

describe('the room kept back for what ends something', () => {
  let second: SmallDisk;
  let dir: string;
  let server: Harness;
  let token: string;
  const reservePath = (): string => join(dir, 'files', 'reserve');

  beforeAll(async () => {
    second = mountDisk();
    dir = second.path;
    server = await startOn(dir);
    servers.push(server);
    expect(statSync(reservePath()).size).toBe(RESERVE_BYTES);
    await expectStatus(request(server.url, 'PUT', '/files/locked.txt', { body: 'locked' }), 201);
    const locked = await expectStatus(request(server.url, 'LOCK', '/files/locked.txt', { headers: { Timeout: 'Second-600' }, body: LOCKINFO }), 200);
    token = String(locked.headers['lock-token']);
    await expectStatus(request(server.url, 'PUT', '/capped/data.bin', { body: MEMBER }), 201);
    // Empty: deleting it frees no room on the disk, and its property must still go.
    await expectStatus(request(server.url, 'PUT', '/capped/empty.txt', { body: '' }), 201);
    await expectStatus(request(server.url, 'PROPPATCH', '/capped/empty.txt', { body: setProp('tag', 'empty') }), 207);
    fill(second);
  });

  it('lets an UNLOCK through on a full disk, giving the reserve up', async () => {
    await expectStatus(request(server.url, 'UNLOCK', '/files/locked.txt', { headers: { 'Lock-Token': token } }), 204);
    expect((await request(server.url, 'PROPFIND', '/files/locked.txt', { headers: { Depth: '0' } })).body).toContain('<D:lockdiscovery/>');
    expect(existsSync(reservePath())).toBe(false);
  });

  it('lets a DELETE through on a full disk, its property and count with it, and writes the reserve again once there is room', async () => {
    rmSync(filler(dir));
    expect(await new SpaceReserve(reservePath()).ensure()).toBe(true);
    fill(second);
    await expectStatus(request(server.url, 'DELETE', '/capped/empty.txt'), 204);
    expect(existsSync(reservePath())).toBe(false);
    rmSync(filler(dir));
    await expectStatus(request(server.url, 'PUT', '/capped/empty.txt', { body: '' }), 201);
    expect((await request(server.url, 'PROPFIND', '/capped/empty.txt', { headers: { Depth: '0' } })).body).not.toContain('>empty</');
    const quota = await expectStatus(
      request(server.url, 'PROPFIND', '/capped/', {
        headers: { Depth: '0' },
        body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:quota-used-bytes/></D:prop></D:propfind>',
      }),
      207,
    );
    expect(quota.body).toContain(`<D:quota-used-bytes>${MEMBER.length}</D:quota-used-bytes>`);
    await expectStatus(request(server.url, 'DELETE', '/capped/empty.txt'), 204);
    expect(statSync(reservePath()).size).toBe(RESERVE_BYTES);
  });

  it('refuses a lock refresh with 507 on a full disk, the lock keeping its timeout', async () => {
    rmSync(filler(dir), { force: true });
    await expectStatus(request(server.url, 'PUT', '/files/refreshed.txt', { body: '' }), 201);
    const locked = await expectStatus(request(server.url, 'LOCK', '/files/refreshed.txt', { headers: { Timeout: 'Second-600' }, body: LOCKINFO }), 200);
    fill(second);
    const lockToken = String(locked.headers['lock-token']);
    await expectStatus(request(server.url, 'LOCK', '/files/refreshed.txt', { headers: { Timeout: 'Second-3600', If: `(${lockToken})` } }), 507);
    const found = await expectStatus(request(server.url, 'PROPFIND', '/files/refreshed.txt', { headers: { Depth: '0' } }), 207);
    expect(Number(/<D:timeout>Second-(\d+)</.exec(found.body)?.[1])).toBeLessThanOrEqual(600);
  });

  it("lets a COPY replace a file on a full disk, the replaced file's property going with it", async () => {
    rmSync(filler(dir), { force: true });
    expect(await new SpaceReserve(reservePath()).ensure()).toBe(true);
    await expectStatus(request(server.url, 'PUT', '/files/replaced.txt', { body: '' }), 201);
    await expectStatus(request(server.url, 'PROPPATCH', '/files/replaced.txt', { body: setProp('tag', 'replaced') }), 207);
    await expectStatus(request(server.url, 'PUT', '/files/replacing.txt', { body: '' }), 201);
    fill(second);
    await expectStatus(request(server.url, 'COPY', '/files/replacing.txt', { headers: { Destination: `${server.url}/files/replaced.txt` } }), 204);
    expect(existsSync(reservePath())).toBe(false);
    const found = await expectStatus(request(server.url, 'PROPFIND', '/files/replaced.txt', { headers: { Depth: '0' } }), 207);
    expect(found.body).not.toContain('>replaced</');
  });

  it('lets a MOVE of a locked file through on a full disk, its lock ending', async () => {
    rmSync(filler(dir), { force: true });
    expect(await new SpaceReserve(reservePath()).ensure()).toBe(true);
    await expectStatus(request(server.url, 'PUT', '/files/moving.txt', { body: '' }), 201);
    const locked = await expectStatus(request(server.url, 'LOCK', '/files/moving.txt', { headers: { Timeout: 'Second-600' }, body: LOCKINFO }), 200);
    const lockToken = String(locked.headers['lock-token']);
    fill(second);
    await expectStatus(request(server.url, 'MOVE', '/files/moving.txt', { headers: { Destination: `${server.url}/files/moved.txt`, If: `(${lockToken})` } }), 201);
    expect(existsSync(reservePath())).toBe(false);
    rmSync(filler(dir));
    // The old name is free of the lock: a new file there needs no token.
    await expectStatus(request(server.url, 'PUT', '/files/moving.txt', { body: 'new' }), 201);
    expect((await request(server.url, 'PROPFIND', '/files/moved.txt', { headers: { Depth: '0' } })).body).toContain('<D:lockdiscovery/>');
  });

  it("gives an upload's reservation back on a full disk, giving the reserve up", async () => {
    rmSync(filler(dir), { force: true });
    expect(await new SpaceReserve(reservePath()).ensure()).toBe(true);
    const available = async (): Promise<number> => {
      const r = await expectStatus(request(server.url, 'PROPFIND', '/capped/', { headers: { Depth: '0' }, body: QUOTA_AVAILABLE }), 207);
      return Number(/<D:quota-available-bytes>(\d+)</.exec(r.body)?.[1]);
    };
    const before = await available();
    expect(before).toBe(8 * 1024 * 1024 - MEMBER.length);
    // An upload that has reserved its declared length, then stalls before its body.
    const declared = 4 * 1024 * 1024;
    const u = new URL(server.url);
    const socket = connect(Number(u.port), u.hostname);
    socket.on('error', () => {});
    socket.write(`PUT /capped/stalled.bin HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: Basic ${Buffer.from('alice:secret').toString('base64')}\r\nContent-Length: ${declared}\r\n\r\n`);
    await waitFor(async () => (await available()) === before - declared || undefined, { what: 'the reservation' });
    fill(second);
    // Gone with the disk full: the reservation must go all the same.
    socket.destroy();
    await waitFor(() => !existsSync(reservePath()) || undefined, { what: 'the reserve given up' });
    rmSync(filler(dir));
    expect(await available()).toBe(before);
    expect(readdirSync(join(dir, 'capped')).sort()).toEqual(['data.bin']);
  });
});
