/**
 * Input that once found a gap: a SASL exchange outliving a `Line too long`, TOP with a long
 * count, and refusals on the implicit-TLS port written in clear text.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LineClient, testCertificate, sampleBacking, startPop3, transcript, type Harness } from './helpers.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

let harness: Harness | undefined;
const clients: LineClient[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  for (const s of sockets.splice(0)) s.destroy();
  await harness?.close();
  harness = undefined;
});

async function open(h: Harness): Promise<LineClient> {
  const client = await LineClient.connect(h.port);
  clients.push(client);
  await client.line();
  return client;
}

/** A TCP connection to the POP3S port that never starts TLS: the bytes it got, and its close. */
function silent(port: number): Promise<{ bytes: () => number; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
    socket.on('error', () => {});
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.once('connect', () => resolve({ bytes: () => bytes, closed }));
    socket.once('error', reject);
  });
}

describe('hostile input', () => {
  it('a line too long ends a pending SASL exchange: the next lines are commands again', async () => {
    harness = await startPop3({ backing: sampleBacking(), settings: { maxLineLength: 300 } });
    const client = await open(harness);
    await transcript(client, [
      ['AUTH PLAIN', '+ '],
      ['x'.repeat(400), '-ERR Line too long'],
      // Read as a command, not as the SASL response it would have been.
      [b64('\0alice\0secret'), /^-ERR Unknown command/],
      ['USER alice', /^\+OK/],
      ['PASS secret', /^\+OK Logged in/],
    ]);
  });

  it('TOP takes any non-negative count; ten or more digits means every line', async () => {
    harness = await startPop3({ backing: sampleBacking() });
    const client = await open(harness);
    await transcript(client, [['USER alice', /^\+OK/], ['PASS secret', /^\+OK/]]);
    client.send(`TOP 1 ${'9'.repeat(12)}`);
    expect(await client.line()).toMatch(/^\+OK/);
    expect(await client.body()).toEqual(['From: bob@localhost', 'Subject: one', '', 'Hello Alice.', '.dotted line', 'bye']);
    await transcript(client, [['TOP 1 -1', /^-ERR Invalid line count/]]);
  });

  it('POP3S: handshakes count per address, end at their deadline, and refusals send no clear text', async () => {
    harness = await startPop3({ backing: sampleBacking(), cert: testCertificate(), settings: { maxConnectionsPerIp: 1, tlsHandshakeTimeout: 500 } });
    const first = await silent(harness.tlsPort);
    const refused = await silent(harness.tlsPort);
    await refused.closed;
    expect(refused.bytes()).toBe(0);
    await first.closed;
    expect(first.bytes()).toBe(0);
  });
});
