/**
 * Limits: quota (507, nothing left behind, declared and chunked bodies), body size (413), header
 * size (431), requests in progress per client (503), and slow clients (no head in time, a body that
 * stalls) cut off without leaving a file or a temporary behind.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curl, request, startServer, type Harness } from './helpers.js';

let h: Harness;
const AUTH = `Basic ${Buffer.from('alice:secret').toString('base64')}`;

beforeAll(async () => {
  h = await startServer({
    settings: (_dir, base) => ({
      ...base,
      home: { enabled: true, quota: 1000, refuseAppleFiles: false },
      maxBodySize: 5000,
      maxHeaderSize: 4096,
      maxRequestsPerClient: 2,
    }),
  });
});
afterAll(async () => {
  await h.close();
});

const home = () => join(h.dataDir, 'files', 'home', 'alice');

describe('quota', () => {
  it('answers 507 to a declared body over the quota and stores nothing', async () => {
    const r = await request(h.url, 'PUT', '/home/big.bin', { body: Buffer.alloc(2000, 1) });
    expect(r.status).toBe(507);
    expect(readdirSync(home())).toEqual([]);
  });

  it('answers 507 to a chunked body that grows over the quota and stores nothing', async () => {
    const r = await curl(['-u', 'alice:secret', '-H', 'Transfer-Encoding: chunked', '-T', '-', `${h.url}/home/chunked.bin`], Buffer.alloc(3000, 2));
    expect(r.status).toBe(507);
    expect(readdirSync(home())).toEqual([]);
  });

  it('counts what is stored, and lets a file be replaced within the quota', async () => {
    expect((await request(h.url, 'PUT', '/home/a.bin', { body: Buffer.alloc(600, 1) })).status).toBe(201);
    expect((await request(h.url, 'PUT', '/home/b.bin', { body: Buffer.alloc(600, 1) })).status).toBe(507);
    expect((await request(h.url, 'PUT', '/home/a.bin', { body: Buffer.alloc(900, 3) })).status).toBe(204);
    expect(readFileSync(join(home(), 'a.bin'))).toEqual(Buffer.alloc(900, 3));
    const props = await request(h.url, 'PROPFIND', '/home/', {
      headers: { Depth: '0' },
      body: '<D:propfind xmlns:D="DAV:"><D:prop><D:quota-used-bytes/><D:quota-available-bytes/></D:prop></D:propfind>',
    });
    expect(props.body).toContain('<D:quota-used-bytes>900</D:quota-used-bytes>');
    expect(props.body).toContain('<D:quota-available-bytes>100</D:quota-available-bytes>');
    expect((await request(h.url, 'DELETE', '/home/a.bin')).status).toBe(204);
    expect(readdirSync(home())).toEqual([]);
  });
});

describe('request limits', () => {
  it('answers 413 to a body over maxBodySize', async () => {
    const r = await request(h.url, 'PUT', '/files/huge.bin', { body: Buffer.alloc(6000) });
    expect(r.status).toBe(413);
    expect(readdirSync(h.shareDir)).toEqual([]);
  });

  it('answers 431 to a head over maxHeaderSize', async () => {
    const r = await request(h.url, 'GET', '/files/', { headers: { 'X-Big': 'y'.repeat(8000) } });
    expect(r.status).toBe(431);
  });

  it('answers 503 to a third request in progress from one address', async () => {
    const uploads = [0, 1].map((i) => {
      const req = httpRequest({ host: '127.0.0.1', port: h.port, method: 'PUT', path: `/files/slow${i}.bin`, headers: { Authorization: AUTH, 'Transfer-Encoding': 'chunked' }, agent: false });
      req.on('error', () => {});
      req.write('first bytes');
      const status = new Promise<number>((resolve) =>
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        }),
      );
      return { req, status };
    });
    // Both are in progress once their temporaries exist.
    await waitUntil(() => readdirSync(h.shareDir).filter((n) => n.startsWith('.hearth-upload-')).length === 2);
    const third = await request(h.url, 'GET', '/files/');
    expect(third.status).toBe(503);
    expect(third.headers['retry-after']).toBe('2');
    for (const u of uploads) u.req.end();
    expect(await Promise.all(uploads.map((u) => u.status))).toEqual([201, 201]);
    expect((await request(h.url, 'GET', '/files/slow0.bin')).body).toBe('first bytes');
  });
});

describe('slow clients', () => {
  let slow: Harness;
  beforeAll(async () => {
    slow = await startServer({ settings: (_dir, base) => ({ ...base, headersTimeout: 400, idleTimeout: 400 }) });
  });
  afterAll(async () => {
    await slow.close();
  });

  it('closes a connection whose head does not arrive in time', async () => {
    const socket = connect(slow.port, '127.0.0.1');
    socket.write('GET /files/ HTTP/1.1\r\nHost: x\r\n');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    expect(received === '' || received.startsWith('HTTP/1.1 408')).toBe(true);
  });

  it('cuts off a body that stalls, leaving neither the file nor a temporary', async () => {
    const socket = connect(slow.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(`PUT /files/stalled.bin HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Length: 100\r\n\r\n0123456789`);
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await waitUntil(() => readdirSync(slow.shareDir).every((n) => !n.startsWith('.hearth-upload-')));
    expect(existsSync(join(slow.shareDir, 'stalled.bin'))).toBe(false);
  });
  it('cuts off a download whose client stops reading, once nothing has moved for the idle timeout', async () => {
    const size = 32 * 1024 * 1024;
    writeFileSync(join(slow.shareDir, 'unread.bin'), Buffer.alloc(size, 9));
    const socket = connect(slow.port, '127.0.0.1');
    socket.on('error', () => {});
    let received = 0;
    socket.on('data', (d: Buffer) => (received += d.length));
    // The first bytes say the answer started; then nothing more is read.
    socket.once('data', () => socket.pause());
    socket.write(`GET /files/unread.bin HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\n\r\n`);
    await waitUntil(() => received > 0);
    // The server gives the request up (400 ms without a byte moving), far short of the file.
    await waitUntil(() => slow.files.inFlight === 0);
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.resume();
    await closed;
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(size);
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
