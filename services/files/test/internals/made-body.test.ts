/**
 * A body made as it is sent (`made-body.ts`), over a real socket: within 64 KiB it goes out whole
 * with its length, longer it goes out chunked (a HEAD's head says the same, with no body); an
 * error within the first 64 KiB comes before the head is written (the caller can still answer with
 * an error status), a later one after it; the source's `finally` runs however the sending ends,
 * the client gone midway included, and its failing changes nothing.
 */
import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MadeBody, sendMade, WHOLE_UP_TO } from '../../dist/made-body.js';

interface Sent {
  /** The length `head` was given for each call (undefined: chunked). */
  readonly heads: Array<number | undefined>;
  counted: number;
  /** Whether the source's `finally` ran. */
  finished: boolean;
  /** What `sendMade` ended with. */
  outcome?: 'resolved' | Error;
  headersSentAtError?: boolean;
}

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A server sending what `parts` makes for every request; the test's view of the sending. */
async function serve(parts: (sent: Sent) => AsyncIterable<string | Uint8Array>, headOnly = false): Promise<{ port: number; sent: Sent; done: Promise<void> }> {
  const sent: Sent = { heads: [], counted: 0, finished: false };
  let ended!: () => void;
  const done = new Promise<void>((resolve) => (ended = resolve));
  server = createServer((_req, res: ServerResponse) => {
    const head = (length: number | undefined): void => {
      sent.heads.push(length);
      res.writeHead(200, length === undefined ? {} : { 'Content-Length': length });
    };
    sendMade(res, new MadeBody(parts(sent)), head, (n) => (sent.counted += n), headOnly).then(
      () => {
        sent.outcome = 'resolved';
        ended();
      },
      (err: Error) => {
        sent.outcome = err;
        sent.headersSentAtError = res.headersSent;
        if (res.headersSent) res.destroy();
        else res.writeHead(500).end('failed');
        ended();
      },
    );
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { port: (server!.address() as AddressInfo).port, sent, done };
}

/**
 * A GET (or `method`) of the server: status, headers, body and whether it came whole (`complete`),
 * once the response is over; with `abandonAfter`, the connection is dropped once that many bytes came.
 */
function get(port: number, abandonAfter?: number, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let got = 0;
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        got += c.length;
        if (abandonAfter !== undefined && got >= abandonAfter) res.destroy();
      });
      // A response cut short by the server fails with ECONNRESET ('aborted'): 'close' tells it all.
      res.on('error', () => {});
      res.on('close', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete: res.complete }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('sendMade', () => {
  it('sends a body that ends within 64 KiB whole, with its length, strings and bytes alike', async () => {
    const { port, sent, done } = await serve(async function* (s) {
      try {
        yield '<a>';
        yield Buffer.from('é'.repeat(1000));
        yield new Uint8Array([0x21]);
      } finally {
        s.finished = true;
      }
    });
    const r = await get(port);
    await done;
    const expected = Buffer.concat([Buffer.from('<a>'), Buffer.from('é'.repeat(1000)), Buffer.from('!')]);
    expect(r.status).toBe(200);
    expect(r.body.equals(expected)).toBe(true);
    expect(r.complete).toBe(true);
    expect(r.headers['content-length']).toBe(String(expected.length));
    expect(r.headers['transfer-encoding']).toBeUndefined();
    expect(sent).toMatchObject({ heads: [expected.length], counted: expected.length, finished: true, outcome: 'resolved' });
  });

  it('sends a longer body chunked, part by part, as it is made', async () => {
    const part = Buffer.alloc(20_000, 'x');
    const { port, sent, done } = await serve(async function* (s) {
      try {
        for (let i = 0; i < 50; i++) yield part;
      } finally {
        s.finished = true;
      }
    });
    const r = await get(port);
    await done;
    expect(r.body.length).toBe(50 * part.length);
    expect(r.headers['transfer-encoding']).toBe('chunked');
    expect(r.headers['content-length']).toBeUndefined();
    expect(sent).toMatchObject({ heads: [undefined], counted: 50 * part.length, finished: true, outcome: 'resolved' });
  });

  it("gives a HEAD the GET's head, its length when the body would go whole, and no body", async () => {
    let made = 0;
    const small = await serve(async function* (s) {
      try {
        yield 'twelve bytes';
      } finally {
        s.finished = true;
      }
    }, true);
    const r = await get(small.port, undefined, 'HEAD');
    await small.done;
    expect([r.status, r.headers['content-length'], r.body.length]).toEqual([200, '12', 0]);
    expect(small.sent).toMatchObject({ heads: [12], counted: 0, finished: true, outcome: 'resolved' });
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    const large = await serve(async function* (s) {
      try {
        for (; made < 100; made++) yield Buffer.alloc(20_000, 'x');
      } finally {
        s.finished = true;
      }
    }, true);
    const l = await get(large.port, undefined, 'HEAD');
    await large.done;
    expect([l.status, l.headers['content-length'], l.body.length]).toEqual([200, undefined, 0]);
    expect(large.sent).toMatchObject({ heads: [undefined], counted: 0, finished: true, outcome: 'resolved' });
    // Made only as far as needed to know that it is not sent whole.
    expect(made).toBe(3);
  });

  it('throws an error of the first 64 KiB before the head is written, so that the caller can still answer with its status', async () => {
    const { port, sent, done } = await serve(async function* (s) {
      try {
        yield 'the start';
        throw new Error('EIO: the folder could not be read');
      } finally {
        s.finished = true;
      }
    });
    const r = await get(port);
    await done;
    expect([r.status, r.body.toString()]).toEqual([500, 'failed']);
    expect(sent.heads).toEqual([]);
    expect(sent.headersSentAtError).toBe(false);
    expect((sent.outcome as Error).message).toBe('EIO: the folder could not be read');
    expect(sent.finished).toBe(true);
  });

  it('throws a later error after the head, and the client sees the response cut short', async () => {
    const { port, sent, done } = await serve(async function* (s) {
      try {
        yield Buffer.alloc(WHOLE_UP_TO + 1, 'y');
        throw new Error('EIO: later');
      } finally {
        s.finished = true;
      }
    });
    const r = await get(port);
    await done;
    expect(sent.heads).toEqual([undefined]);
    expect(sent.headersSentAtError).toBe(true);
    expect((sent.outcome as Error).message).toBe('EIO: later');
    expect(sent.finished).toBe(true);
    // Cut before its last chunk: the client can tell it did not come whole.
    expect([r.status, r.headers['transfer-encoding'], r.complete]).toEqual([200, 'chunked', false]);
    expect(r.body.length).toBeLessThanOrEqual(WHOLE_UP_TO + 1);
  });

  it("ends as it would when its source's own clean-up fails", async () => {
    const { port, sent, done } = await serve(async function* (s) {
      try {
        for (let i = 0; i < 10; i++) yield Buffer.alloc(20_000, 'c');
      } finally {
        s.finished = true;
        throw new Error('EIO: closing the folder');
      }
    }, true);
    const r = await get(port, undefined, 'HEAD');
    await done;
    expect([r.status, r.headers['content-length'], r.body.length]).toEqual([200, undefined, 0]);
    expect(sent).toMatchObject({ heads: [undefined], finished: true, outcome: 'resolved' });
  });

  it('stops making the body when the client goes away midway, and its source is returned', async () => {
    let made = 0;
    const { port, sent, done } = await serve(async function* (s) {
      try {
        // Far more than the sockets' buffers hold: the sending must wait for the client.
        for (; made < 10_000; made++) yield Buffer.alloc(64 * 1024, 'z');
      } finally {
        s.finished = true;
      }
    });
    const r = await get(port, 256 * 1024);
    expect(r.body.length).toBeGreaterThanOrEqual(256 * 1024);
    await done;
    expect(sent.outcome).toBe('resolved');
    expect(sent.finished).toBe(true);
    expect(made).toBeLessThan(10_000);
  });
});
