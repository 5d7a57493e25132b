/** Test helpers: a POP3 server on 127.0.0.1:0 over the in-memory backing, and a line client. */
import { rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, createSecureContext, type TLSSocket } from 'node:tls';
import { expect, inject } from 'vitest';
import type { LoginPolicy } from '@hearth/accounts';
import { createLogger, type Logger } from '@hearth/log';
import { createPop3Server, defaultSettings, MemoryBacking, type MailBacking, type Pop3Server, type Pop3Settings } from '@hearth/pop3';
import type { MessageBus } from '@hearth/runtime';
import type { TestCertificate } from '../../../scripts/test-certificate.js';

export type Cert = TestCertificate;

/** The run's self-signed certificate for localhost and 127.0.0.1 (`scripts/test-certificate.ts`). */
export function testCertificate(): Cert {
  return inject('testCertificate');
}

export interface Harness {
  readonly port: number;
  readonly tlsPort: number;
  readonly pop3: Pop3Server;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly backing: MailBacking;
  readonly cert?: Cert;
  readonly settings?: Partial<Pop3Settings>;
  readonly isLoopback?: (address: string) => boolean;
  readonly bus?: MessageBus;
  readonly domains?: readonly string[];
  /** The failed-login policy (default: the server's own, in memory). */
  readonly loginPolicy?: LoginPolicy;
  /** Where the service logs (default: silent, or $POP3_TEST_LOG's level). */
  readonly log?: Logger;
}

/** A bus that records what the server sends and lets a test deliver messages to it. */
export class FakeBus implements MessageBus {
  readonly sent: Array<{ to: string; topic: string; payload: unknown }> = [];
  readonly published: Array<{ topic: string; payload: unknown }> = [];
  private readonly handlers = new Map<string, Array<(payload: unknown, from: string) => void>>();
  readonly writable = true;
  drained(): Promise<void> {
    return Promise.resolve();
  }
  send(to: string, topic: string, payload: unknown): boolean {
    this.sent.push({ to, topic, payload });
    return true;
  }
  publish(topic: string, payload: unknown): boolean {
    this.published.push({ topic, payload });
    return true;
  }
  on(topic: string, handler: (payload: unknown, from: string) => void): void {
    this.handlers.set(topic, [...(this.handlers.get(topic) ?? []), handler]);
  }
  /** A message from another service (biff's `mail.notify`, say). */
  emit(topic: string, payload: unknown, from = 'biff'): void {
    for (const handler of this.handlers.get(topic) ?? []) handler(payload, from);
  }
  topics(): string[] {
    return this.sent.map((m) => m.topic);
  }
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return address.port;
}

export async function startPop3(options: HarnessOptions): Promise<Harness> {
  const secureContext = options.cert ? createSecureContext({ cert: options.cert.cert, key: options.cert.key }) : undefined;
  const pop3 = createPop3Server({
    backing: options.backing,
    tls: () => secureContext,
    settings: { ...defaultSettings(), loginFailureDelay: 50, ...options.settings },
    log: options.log ?? createLogger({ svc: 'pop3', level: process.env['POP3_TEST_LOG'] ?? 'silent' }),
    ...(options.isLoopback ? { isLoopback: options.isLoopback } : {}),
    ...(options.bus ? { bus: options.bus, instance: 4242 } : {}),
    ...(options.domains ? { domains: options.domains } : {}),
    ...(options.loginPolicy ? { loginPolicy: options.loginPolicy } : {}),
  });
  const plain = createServer((socket) => pop3.handle(socket, { implicitTls: false }));
  const secure = createServer((socket) => pop3.handle(socket, { implicitTls: true }));
  const port = await listen(plain);
  const tlsPort = await listen(secure);
  return {
    port,
    tlsPort,
    pop3,
    async close() {
      plain.close();
      secure.close();
      await pop3.stop(Date.now() + 500);
    },
  };
}

export function sampleBacking(): MemoryBacking {
  const backing = new MemoryBacking().addUser('alice', 'secret', 'apop-secret').addUser('bob', 'hunter2');
  backing.add('alice', 'From: bob@localhost\r\nSubject: one\r\n\r\nHello Alice.\r\n.dotted line\r\nbye\r\n');
  backing.add('alice', 'From: carol@localhost\nSubject: two\n\nbare LF body\nsecond line\n');
  backing.add('alice', 'Subject: three\r\n\r\nthird\r\n');
  return backing;
}

/** A line-oriented POP3 test client. */
export class LineClient {
  private buffer = '';
  private waiters: Array<() => void> = [];
  private ended = false;

  private constructor(public socket: Socket | TLSSocket) {
    this.listen(socket);
  }

  static async connect(port: number): Promise<LineClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new LineClient(socket);
  }

  static async connectPath(path: string): Promise<LineClient> {
    const socket = connect(path);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new LineClient(socket);
  }

  static async connectTls(port: number, cert: Cert): Promise<LineClient> {
    const socket = tlsConnect({ port, host: '127.0.0.1', ca: cert.cert, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    return new LineClient(socket);
  }

  private listen(socket: Socket): void {
    socket.on('data', (data: Buffer) => {
      this.buffer += data.toString('latin1');
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Switch to TLS on this connection (after +OK to STLS). */
  async startTls(cert: Cert): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const socket = tlsConnect({ socket: plain, ca: cert.cert, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    this.socket = socket;
    this.listen(socket);
  }

  send(text: string): void {
    this.socket.write(text.endsWith('\n') ? text : `${text}\r\n`);
  }

  async line(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nl = this.buffer.indexOf('\r\n');
      if (nl >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 2);
        return line;
      }
      if (this.ended) throw new Error(`connection closed (pending: ${JSON.stringify(this.buffer)})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line in time (pending: ${JSON.stringify(this.buffer)})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The lines of a multi-line body after its status line, dot-unstuffed, without the terminator. */
  async body(): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.line();
      if (line === '.') return lines;
      lines.push(line.startsWith('.') ? line.slice(1) : line);
    }
  }

  /** Resolves once the server closed the connection. */
  async closed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('connection still open');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 20);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** One step of a transcript: what the client sends (null: nothing) and what it expects. */
export type Step = readonly [send: string | null, expect: string | RegExp | ReadonlyArray<string | RegExp>];

/**
 * Run a transcript. A string or RegExp matches one status line; an array matches a status line
 * and the lines of the multi-line body that follows (the first element being the status line).
 */
export async function transcript(client: LineClient, steps: readonly Step[]): Promise<void> {
  for (const [send, want] of steps) {
    if (send !== null) client.send(send);
    const wanted = Array.isArray(want) ? want : [want];
    const status = await client.line();
    match(status, wanted[0]!, send);
    if (Array.isArray(want)) {
      const body = await client.body();
      expect(body.length, `body of ${send}: ${JSON.stringify(body)}`).toBe(wanted.length - 1);
      body.forEach((line, i) => match(line, wanted[i + 1]!, send));
    }
  }
}

function match(actual: string, want: string | RegExp, send: string | null): void {
  if (typeof want === 'string') expect(actual, `reply to ${send}`).toBe(want);
  else expect(actual, `reply to ${send}`).toMatch(want);
}

/** A client of `port` logged in as `user` with USER/PASS (`expected`: the PASS reply), kept in `clients`. */
export async function loginClient(port: number, clients: LineClient[], user: string, password: string, expected: RegExp): Promise<LineClient> {
  const client = await LineClient.connect(port);
  clients.push(client);
  await transcript(client, [
    [null, /^\+OK/],
    [`USER ${user}`, /^\+OK/],
    [`PASS ${password}`, expected],
  ]);
  return client;
}

export function writeTemp(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
