/**
 * `writtenOut`, read right after `end()` on a real connection, whatever Node's version: true for a
 * response its socket took whole, false for one still in Node's buffers (a large one to a client
 * that reads nothing) and for one queued behind it on the same connection (pipelined).
 */
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { waitFor } from '@hearth/testkit';
import { writtenOut } from '../../dist/replies.js';

let server: Server | undefined;
let client: Socket | undefined;

afterEach(async () => {
  client?.destroy();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
});

it('says an ended response is written out only when its socket has taken all of it', async () => {
  // Larger than any socket's buffers on loopback: most of it stays in Node's.
  const bodies: Record<string, Buffer> = { '/small': Buffer.alloc(4096, 's'), '/large': Buffer.alloc(64 << 20, 'l'), '/behind': Buffer.alloc(16, 'b') };
  const seen: [string, boolean][] = [];
  server = createServer((req, res) => {
    const body = bodies[req.url ?? '']!;
    res.writeHead(200, ['Content-Length', String(body.length)]);
    res.end(body);
    seen.push([req.url ?? '', writtenOut(res)]);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  client = connect(port, '127.0.0.1');
  // Three requests in one write; the client then reads nothing.
  client.pause();
  client.write(['/small', '/large', '/behind'].map((path) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
  await waitFor(() => seen.length === 3, { timeout: 5000, what: 'three requests handled' });
  expect(seen).toEqual([
    ['/small', true],
    ['/large', false],
    ['/behind', false],
  ]);
});
