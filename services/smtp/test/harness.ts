/**
 * Test harness: the SMTP service on 127.0.0.1:0 with an in-memory store (or any sink), a
 * recording bus, a silent logger and an openssl-made certificate; plus real clients to drive it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLogger, type Logger } from '@hearth/log';
import { openAccounts, type Accounts, type Authentication } from '@hearth/accounts';
import type { HearthNotice } from '@hearth/mail-delivery';
import { openMailStore, type MailStore } from '@hearth/mail-store';
import type { ListenerSpec, MessageBus, ServiceListener, SuiteSettings } from '@hearth/runtime';
import {
  settingsSchema,
  startSmtp,
  storeSink,
  storeUsers,
  type Delivery,
  type MailSink,
  type RunningSmtp,
  type UserDirectory,
} from '@hearth/smtp';
import { runProgram, type ProgramResult } from '@hearth/testkit';

const run = promisify(execFile);

export const DOMAINS = ['localhost', 'example.test'];

/**
 * The real mail store in a temp dir behind the service's ports, recording each delivery's
 * recipients; `failWith` makes deliveries fail (after reading the body) to test 4xx answers.
 */
export class TestStore implements MailSink, UserDirectory {
  readonly deliveries: string[][] = [];
  failWith: Error | undefined;
  readonly #sink: MailSink;
  readonly #users: UserDirectory;

  constructor(
    readonly store: MailStore,
    readonly accounts: Accounts,
  ) {
    this.#sink = storeSink(store);
    this.#users = storeUsers(store, accounts);
  }

  static async open(dir: string, users: Record<string, string> = { alice: 'alice-pw', bob: 'bob-pw' }): Promise<TestStore> {
    const store = await openMailStore({ dir });
    const accounts = await openAccounts({ dir: join(dir, '..', 'accounts'), passwordParams: { ln: 10, r: 8, p: 1 } });
    for (const [user, pw] of Object.entries(users)) {
      store.addMaildrop(user);
      await accounts.add(user, pw);
    }
    return new TestStore(store, accounts);
  }

  has(user: string): Promise<boolean> {
    return this.#users.has(user);
  }

  authenticate(user: string, password: string): Promise<Authentication> {
    return this.#users.authenticate(user, password);
  }

  firstAdmin(): Promise<string | undefined> {
    return this.#users.firstAdmin();
  }

  credentialStamp(user: string): string | undefined {
    return this.#users.credentialStamp(user);
  }

  async deliver(delivery: Delivery): Promise<readonly HearthNotice[]> {
    if (this.failWith) {
      for await (const chunk of delivery.body) void chunk;
      throw this.failWith;
    }
    const copies = await this.#sink.deliver(delivery);
    this.deliveries.push([...delivery.recipients]);
    return copies;
  }

  /** The stored messages of `user`, oldest first. */
  async bodies(user: string): Promise<string[]> {
    const out: string[] = [];
    for (const m of this.store.listMessages(user)) {
      const chunks: Buffer[] = [];
      for await (const chunk of await this.store.openBody(m.messageId)) chunks.push(chunk as Buffer);
      out.push(Buffer.concat(chunks).toString('utf8'));
    }
    return out;
  }

  async last(user: string): Promise<string> {
    return (await this.bodies(user)).at(-1) ?? '';
  }
}

export interface Published {
  readonly topic: string;
  readonly payload: unknown;
}

export function recordingBus(): MessageBus & { readonly published: Published[] } {
  const published: Published[] = [];
  return {
    published,
    send: () => true,
    publish(topic, payload) {
      published.push({ topic, payload });
      return true;
    },
    on: () => undefined,
    writable: true,
    drained: () => Promise.resolve(),
  };
}

/** A listener that binds 127.0.0.1:0 itself (as the runtime does when a service runs alone). */
export function loopbackListener(name: string, tls = false): ServiceListener {
  const spec: ListenerSpec = { name, protocol: 'tcp', address: '127.0.0.1', port: 0, tls };
  return {
    spec,
    listen: (server: Server) =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      }),
    bind: () => Promise.reject(new Error('no UDP here')),
  };
}

export interface Certs {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;
}

/** A self-signed certificate for `localhost` and 127.0.0.1, made with the openssl CLI. */
export async function makeCerts(dir: string, name = 'cert'): Promise<Certs> {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}-key.pem`);
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
  return { dir, cert, key };
}

export interface TestSmtp {
  readonly running: RunningSmtp;
  readonly store: TestStore;
  readonly bus: ReturnType<typeof recordingBus>;
  readonly certs: Certs;
  readonly dir: string;
  port(listener: 'mx' | 'submission' | 'smtps'): number;
  close(): Promise<void>;
}

export async function startTestSmtp(
  options: { settings?: Record<string, unknown>; certs?: Certs; log?: Logger } = {},
): Promise<TestSmtp> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-smtp-'));
  const certs = options.certs ?? (await makeCerts(dir));
  const store = await TestStore.open(join(dir, 'mail'));
  const bus = recordingBus();
  const suite: SuiteSettings = { dataDir: dir, mail: { domains: DOMAINS }, tls: { cert: certs.cert, key: certs.key } };
  const listeners = new Map<string, ServiceListener>([
    ['mx', loopbackListener('mx')],
    ['submission', loopbackListener('submission')],
    ['smtps', loopbackListener('smtps', true)],
  ]);
  const running = await startSmtp(
    {
      settings: settingsSchema.parse({ hostname: 'mx.example.test', ...options.settings }),
      suite,
      log: options.log ?? createLogger({ svc: 'smtp', level: process.env['HEARTH_TEST_LOG'] ?? 'silent' }),
      listeners,
      bus,
    },
    {
      sink: store,
      users: store,
      tls: async (s) => ({ cert: await readFile(s.tls.cert ?? ''), key: await readFile(s.tls.key ?? '') }),
    },
  );
  return {
    running,
    store,
    bus,
    certs,
    dir,
    port(listener) {
      const server = running.servers.get(listener);
      if (!server) throw new Error(`no listener ${listener}`);
      return (server.server.address() as AddressInfo).port;
    },
    async close() {
      await running.stop(Date.now() + 1000);
      await store.store.close();
      await store.accounts.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs a client program to its end (killed after 15 s), feeding `input` on stdin. */
export function runClient(cmd: string, args: readonly string[], input = ''): Promise<ProgramResult> {
  return runProgram(cmd, args, { input, timeoutMs: 15_000 });
}

/**
 * Run a Python snippet using smtplib; it prints one JSON value, returned parsed. The snippet sees
 * `HOST`, `PORT`, `CA` and helper `code_of(exc)`.
 */
export async function python(snippet: string, vars: { port: number; ca?: string }): Promise<unknown> {
  const prelude = [
    'import json, smtplib, ssl, sys',
    `HOST = "127.0.0.1"; PORT = ${vars.port}; CA = ${JSON.stringify(vars.ca ?? '')}`,
    'def ctx():',
    '    c = ssl.create_default_context(cafile=CA)',
    '    return c',
    'def out(v): print(json.dumps(v))',
  ].join('\n');
  const ran = await runClient('python3', ['-c', `${prelude}\n${snippet}`]);
  if (ran.code !== 0) throw new Error(`python failed (${ran.code}): ${ran.stderr}`);
  const lines = ran.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? 'null');
}

/** A message of `lines` lines for the clients to send. */
export function message(subject: string, bodyText = 'Hello from the test.'): string {
  return `From: sender@example.org\r\nTo: alice@localhost\r\nSubject: ${subject}\r\n\r\n${bodyText}\r\n`;
}

/** A bare TCP client reading whole SMTP replies (multi-line joined with \n). */
export class RawClient {
  readonly #socket: import('node:net').Socket;
  #buffer = '';
  readonly #waiting: ((reply: string | undefined) => void)[] = [];
  readonly #replies: string[] = [];
  #ended = false;
  readonly closed: Promise<void>;

  private constructor(socket: import('node:net').Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      this.#buffer += text;
      this.#parse();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.#ended = true;
        for (const w of this.#waiting.splice(0)) w(undefined);
        resolve();
      }),
    );
  }

  static async connect(port: number): Promise<RawClient> {
    const { connect } = await import('node:net');
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  /** A client of an implicit-TLS listener (the test's certificate is not checked). */
  static async connectTls(port: number): Promise<RawClient> {
    const { connect } = await import('node:tls');
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  #parse(): void {
    for (;;) {
      const m = /^(?:\d{3}-[^\n]*\n)*\d{3}(?: [^\n]*)?\r?\n/.exec(this.#buffer);
      if (!m) return;
      this.#buffer = this.#buffer.slice(m[0].length);
      const reply = m[0].replace(/\r\n/g, '\n').trimEnd();
      const waiter = this.#waiting.shift();
      if (waiter) waiter(reply);
      else this.#replies.push(reply);
    }
  }

  /** The next reply, or undefined once the server closed the connection. */
  reply(): Promise<string | undefined> {
    const ready = this.#replies.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.#ended) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  write(text: string): void {
    this.#socket.write(text);
  }

  /** Send one command line and return its reply. */
  async command(line: string): Promise<string | undefined> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

/**
 * One test's server and the raw clients it opened, closed together: `afterEach(() => scope.close())`
 * in a file whose tests each start their own server.
 */
export class SmtpScope {
  #smtp: TestSmtp | undefined;
  readonly #clients: RawClient[] = [];

  async start(options?: Parameters<typeof startTestSmtp>[0]): Promise<TestSmtp> {
    this.#smtp = await startTestSmtp(options);
    return this.#smtp;
  }

  /** A client of `port`, destroyed at `close`. */
  async open(port: number): Promise<RawClient> {
    const client = await RawClient.connect(port);
    this.#clients.push(client);
    return client;
  }

  async close(): Promise<void> {
    for (const c of this.#clients.splice(0)) c.destroy();
    await this.#smtp?.close();
    this.#smtp = undefined;
  }
}
