/**
 * Clients that send a whole request and then shut down their side of the connection (TCP
 * half-close: `printf 'GET ...' | nc -N`, a socket's `end()`): as nginx does, every request sent
 * (a download, a listing, an upload, pipelined ones) is answered whole, then the service closes
 * the connection, and nothing of it stays counted (the requests in progress per address, the
 * connections open).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as connectTls } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@hearth/testkit';
import { parseResponse, request, startServer, type Harness } from './helpers.js';

const AUTH = `Authorization: Basic ${Buffer.from('alice:secret').toString('base64')}`;
/** Larger than the file cache keeps: always read from disk on the full way. */
const BIG = randomBytes(300 * 1024);

let h: Harness;

beforeAll(async () => {
  // One request in progress per address: a request still counted would make the next one 503.
  h = await startServer({ settings: (_dir, base) => ({ ...base, maxRequestsPerClient: 1 }) });
  writeFileSync(join(h.shareDir, 'small.txt'), 'small file\n');
  writeFileSync(join(h.shareDir, 'big.bin'), BIG);
});
afterAll(async () => {
  await h.close();
});

interface HalfClosed {
  /** Everything the service sent, in order. */
  readonly bytes: Buffer;
  /** Whether the service ended the connection (its FIN) rather than resetting it. */
  readonly ended: boolean;
}

/** Writes `text` (over TLS when `secure`), shuts down the write side at once, and reads until the service closes. */
function halfClosed(text: string, secure: boolean): Promise<HalfClosed> {
  return new Promise((resolve, reject) => {
    const socket: Socket = secure
      ? connectTls({ port: Number(new URL(h.httpsUrl).port), host: '127.0.0.1', rejectUnauthorized: false }, () => socket.end(text))
      : connectTcp(h.port, '127.0.0.1', () => socket.end(text));
    const chunks: Buffer[] = [];
    let ended = false;
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => (ended = true));
    socket.on('error', reject);
    socket.on('close', () => resolve({ bytes: Buffer.concat(chunks), ended }));
  });
}

const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n${AUTH}\r\n${extra}\r\n`;

/** The responses in `bytes`, each by its Content-Length. */
function responses(bytes: Buffer): Array<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const out = [];
  let rest = bytes;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) throw new Error(`a response head cut short: ${JSON.stringify(rest.toString('latin1'))}`);
    const { status, headers } = parseResponse(rest.subarray(0, end + 4).toString('latin1'));
    const length = Number(headers['content-length']);
    out.push({ status, headers, body: rest.subarray(end + 4, end + 4 + length) });
    rest = rest.subarray(end + 4 + length);
  }
  return out;
}

/** Nothing of the connections is left open or counted: the address's next request is not refused (503). */
async function countsNothing(): Promise<void> {
  await waitFor(() => h.files.inFlight === 0 && h.files.counters.snapshot()['connectionsOpen'] === 0, { what: 'no request in progress and no connection open' });
  const next = await request(h.url, 'GET', '/files/small.txt');
  expect(next.status).toBe(200);
}

describe.each([['HTTP', false] as const, ['HTTPS', true] as const])('a client that half-closes after its request (%s)', (_name, secure) => {
  it('gets a file read from disk whole, then the connection is closed', async () => {
    const r = await halfClosed(get('/files/big.bin'), secure);
    expect(r.ended).toBe(true);
    const [answer, ...more] = responses(r.bytes);
    expect(answer!.status).toBe(200);
    expect(answer!.body.equals(BIG)).toBe(true);
    expect(more).toEqual([]);
    await countsNothing();
  });

  it('gets a small file whole, from the cache too', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await halfClosed(get('/files/small.txt'), secure);
      expect(r.ended).toBe(true);
      const [answer] = responses(r.bytes);
      expect(answer!.status).toBe(200);
      expect(answer!.body.toString()).toBe('small file\n');
    }
    await countsNothing();
  });

  it('gets an upload whose body came before the half-close stored and answered', async () => {
    const name = `uploaded-${secure ? 'https' : 'http'}.txt`;
    const r = await halfClosed(`PUT /files/${name} HTTP/1.1\r\nHost: x\r\n${AUTH}\r\nContent-Length: 9\r\n\r\nuploaded\n`, secure);
    expect(r.ended).toBe(true);
    expect(responses(r.bytes).map((a) => a.status)).toEqual([201]);
    expect(readFileSync(join(h.shareDir, name), 'utf8')).toBe('uploaded\n');
    await countsNothing();
  });

  it('gets a PROPFIND answered whole', async () => {
    const r = await halfClosed(`PROPFIND /files/ HTTP/1.1\r\nHost: x\r\n${AUTH}\r\nDepth: 1\r\nContent-Length: 0\r\n\r\n`, secure);
    expect(r.ended).toBe(true);
    const text = r.bytes.toString('utf8');
    expect(text).toMatch(/^HTTP\/1\.1 207 /);
    expect(text).toContain('big.bin');
    expect(text).toMatch(/<\/D:multistatus>\s*(0\r\n\r\n)?$/);
    await countsNothing();
  });

  it('is closed at once when it half-closes with no request, also after one answered and before a TLS handshake', async () => {
    // Well within the keep-alive time (5 s) and the time a first request gets (30 s).
    const started = performance.now();
    expect(await halfClosed('', secure)).toEqual({ bytes: Buffer.alloc(0), ended: true });
    const answered = await halfClosed(get('/files/small.txt'), secure);
    expect(responses(answered.bytes).map((a) => a.status)).toEqual([200]);
    if (secure) {
      const raw = await new Promise<boolean>((resolve) => {
        const socket = connectTcp(Number(new URL(h.httpsUrl).port), '127.0.0.1', () => socket.end());
        socket.on('close', () => resolve(true)).resume();
      });
      expect(raw).toBe(true);
    }
    expect(performance.now() - started).toBeLessThan(2000);
    await countsNothing();
  });

  it('gets every pipelined request answered in order, then the close', async () => {
    // Node reads pipelined requests at once: each is in progress until answered.
    h.reload({ ...h.settings, maxRequestsPerClient: 8 });
    try {
      const r = await halfClosed(`${get('/files/small.txt')}${get('/files/big.bin')}${get('/files/none.txt')}`, secure);
      expect(r.ended).toBe(true);
      const answers = responses(r.bytes);
      expect(answers.map((a) => a.status)).toEqual([200, 200, 404]);
      expect(answers[1]!.body.equals(BIG)).toBe(true);
    } finally {
      h.reload({ ...h.settings, maxRequestsPerClient: 1 });
    }
    await countsNothing();
  });
});
