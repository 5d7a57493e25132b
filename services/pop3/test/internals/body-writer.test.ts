/** sendBody over a real loopback socket: exact output, reused buffers, back-pressure, failures. */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { BufferPool, CHUNK_SIZE, sendBody, TruncatedBodyError } from '../../dist/body-writer.js';
import type { BodyReader } from '../../dist/maildrop.js';

let server: Server | undefined;
const open: Socket[] = [];
afterEach(async () => {
  for (const s of open) s.destroy();
  open.length = 0;
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/** A connected pair: the server side (written to) and the client side (read from). */
async function pair(): Promise<{ out: Socket; client: Socket }> {
  const accepted = new Promise<Socket>((resolve) => {
    server = createServer(resolve);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const address = server!.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  const client = connect(address.port, '127.0.0.1');
  client.on('error', () => {});
  const out = await accepted;
  out.on('error', () => {});
  open.push(client, out);
  return { out, client };
}

/** A body of `size` bytes made on demand; counts reads and closes. */
function generated(size: number, fill: (i: number) => number = (i) => (i % 80 === 79 ? 0x0a : 0x61)): BodyReader & { reads: number; closed: boolean } {
  let at = 0;
  return {
    reads: 0,
    closed: false,
    get done() {
      return at >= size;
    },
    async read(into) {
      this.reads++;
      const n = Math.min(into.length, size - at);
      for (let i = 0; i < n; i++) into[i] = fill(at + i);
      at += n;
      return n;
    },
    async close() {
      this.closed = true;
    },
  };
}

function collect(client: Socket): () => Buffer {
  const chunks: Buffer[] = [];
  client.on('data', (chunk: Buffer) => chunks.push(chunk));
  return () => Buffer.concat(chunks);
}

describe('sendBody', () => {
  it('sends the status, the body with CRLF line ends and dot-stuffing, and the final dot; then reuses its buffers', async () => {
    const { out, client } = await pair();
    const received = collect(client);
    const pool = new BufferPool(4096, 8);
    // 10,000 bytes: lines of 80 bytes ending in LF, some starting with a dot.
    const reader = generated(10_000, (i) => (i % 80 === 79 ? 0x0a : i % 800 === 0 ? 0x2e : 0x62));
    await sendBody(out, '+OK 10000 octets', reader, pool);
    expect(reader.closed).toBe(true);
    expect(reader.reads).toBe(3); // 4096 + 4096 + 1808 bytes; done after the third
    const expected = Buffer.alloc(10_000);
    for (let i = 0; i < expected.length; i++) expected[i] = i % 80 === 79 ? 0x0a : i % 800 === 0 ? 0x2e : 0x62;
    const lines = expected.toString('latin1').split('\n');
    expect(lines.pop()).toBe(''); // the body ends with a line end
    const body = lines.map((l) => (l.startsWith('.') ? `.${l}` : l));
    const want = `+OK 10000 octets\r\n${body.join('\r\n')}\r\n.\r\n`;
    for (let i = 0; i < 100 && received().length < want.length; i++) await sleep(10);
    expect(received().toString('latin1')).toBe(want);
    // Both buffers came back: the next two takes are them, the third is new.
    const a = pool.take();
    const b = pool.take();
    expect(a.length).toBe(4096);
    expect(a).not.toBe(b);
    const fresh = pool.take();
    await sendBody(out, '+OK', generated(10), pool);
    expect([a, b]).not.toContain(fresh);
  });

  it('reads no further than the socket can take, and stops with TruncatedBodyError when the client goes', async () => {
    const { out, client } = await pair();
    client.pause();
    const reader = generated(100 * 1024 * 1024);
    const sending = sendBody(out, '+OK', reader, new BufferPool());
    sending.catch(() => {});
    // Time windows, not an order: the kernel's buffers take data in steps while the client does not
    // read, and no event says they are full; the check is that the reads stop: a window of 300 ms
    // with no read, waited for up to 6 s (a loaded machine fills the buffers more slowly).
    let readsHeld = -1;
    for (let window = 0; window < 20 && reader.reads !== readsHeld; window++) {
      readsHeld = reader.reads;
      await sleep(300);
    }
    // Only as much as the kernel's socket buffers hold, and nothing more while nobody reads.
    expect(reader.reads).toBe(readsHeld);
    expect(readsHeld * CHUNK_SIZE).toBeLessThan(16 * 1024 * 1024);
    client.destroy();
    const error = await sending.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TruncatedBodyError);
    expect(reader.closed).toBe(true);
  });

  it('throws a failure of the first read as is, having sent nothing', async () => {
    const { out, client } = await pair();
    const received = collect(client);
    let closed = false;
    const failing: BodyReader = {
      done: false,
      read: async () => {
        throw new Error('disk on fire');
      },
      close: async () => {
        closed = true;
      },
    };
    await expect(sendBody(out, '+OK', failing, new BufferPool())).rejects.toThrow('disk on fire');
    expect(closed).toBe(true);
    out.write('-ERR next\r\n');
    for (let i = 0; i < 100 && received().length === 0; i++) await sleep(10);
    expect(received().toString()).toBe('-ERR next\r\n');
  });
});
