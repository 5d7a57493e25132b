import { fork, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  boundAddress,
  checkInternals,
  closeBoundHandle,
  createBoundTcpHandle,
  createBoundUdpHandle,
  sendWithHandle,
  type BoundHandle,
} from '@hearth/runtime';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const childScript = fileURLToPath(new URL('./fixtures/handle-child.mjs', import.meta.url));

const children = new Set<ChildProcess>();
const handles: BoundHandle[] = [];
afterEach(async () => {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
  await Promise.all(handles.splice(0).map(closeBoundHandle));
});

async function serveWith(handle: BoundHandle, protocol: 'tcp' | 'udp', family: 4 | 6): Promise<ChildProcess> {
  const child = fork(childScript, [dist], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  const serving = new Promise<void>((resolve, reject) => {
    child.on('message', (m: { t: string }) => m.t === 'serving' && resolve());
    child.on('exit', (code) => reject(new Error(`child exited ${code}`)));
  });
  await sendWithHandle(child, { t: 'listener', protocol, family }, handle);
  await serving;
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  children.delete(child);
}

function readLine(socket: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.on('end', () => resolve(text.trim()));
    socket.on('error', reject);
  });
}

function connect(address: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, address, () => resolve(s));
    s.once('error', reject);
  });
}

describe('Node internals used for held sockets', () => {
  it('are still there (if this fails, fix packages/runtime/src/bound-handle.ts for the new Node)', () => {
    expect(() => checkInternals()).not.toThrow();
  });
});

describe.each([
  ['IPv4', '127.0.0.1', 4],
  ['IPv6', '::1', 6],
] as const)('held TCP listener over %s', (_name, address, family) => {
  it('serves across instances; a connection made while none runs waits and is served by the next', async () => {
    const handle = createBoundTcpHandle(address, 0);
    handles.push(handle);
    const { port } = boundAddress(handle);
    expect(port).toBeGreaterThan(0);

    const first = await serveWith(handle, 'tcp', family);
    expect(await readLine(await connect(address, port))).toBe(`hello from ${first.pid}`);

    await kill(first);
    // No instance runs: the connection is accepted by the kernel and waits in the backlog.
    const waiting = await connect(address, port);
    const line = readLine(waiting);

    const second = await serveWith(handle, 'tcp', family);
    expect(await line).toBe(`hello from ${second.pid}`);
  });
});

describe.each([
  ['IPv4', '127.0.0.1', 4],
  ['IPv6', '::1', 6],
] as const)('held UDP listener over %s', (_name, address, family) => {
  it('queues datagrams sent while no instance runs for the next one', async () => {
    const handle = createBoundUdpHandle(address, 0);
    handles.push(handle);
    const { port } = boundAddress(handle);
    const client = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    const replies: string[] = [];
    const got = (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => replies.length >= n && resolve();
        client.on('message', (m) => {
          replies.push(String(m));
          check();
        });
        check();
      });
    try {
      await new Promise<void>((r) => client.bind(0, address, r));
      const first = await serveWith(handle, 'udp', family);
      client.send('one', port, address);
      await got(1);
      expect(replies[0]).toBe(`echo ${first.pid} one`);

      await kill(first);
      // On loopback the datagram is in the bound socket's queue once the send completes.
      await new Promise((r) => client.send('two', port, address, r));
      const second = await serveWith(handle, 'udp', family);
      await got(2);
      expect(replies[1]).toBe(`echo ${second.pid} two`);
    } finally {
      client.close();
    }
  });
});

describe('bind errors', () => {
  it('names the address and the reason', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    try {
      expect(() => createBoundTcpHandle('127.0.0.1', port)).toThrow(`127.0.0.1:${port}: address already in use`);
    } finally {
      server.close();
    }
    const udp = createBoundUdpHandle('127.0.0.1', 0);
    handles.push(udp);
    const udpPort = boundAddress(udp).port;
    expect(() => createBoundUdpHandle('127.0.0.1', udpPort)).toThrow(`127.0.0.1:${udpPort}/udp: address already in use`);
    expect(() => createBoundTcpHandle('localhost', 2025)).toThrow('localhost:2025: not an IP address');
    expect(() => createBoundUdpHandle('192.0.2.1', 0)).toThrow(/192\.0\.2\.1:0\/udp: address not available/);
  });
});
