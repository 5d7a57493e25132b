/**
 * `hearth mail` against a real POP3 server (createPop3Server over a temp mail store) on
 * 127.0.0.1: STLS with the suite-style certificate from DATA/tls/self-signed/, check, list, read,
 * send (each --to one address, quoted as RFC 5321 writes it, or refused), watch receiving a push, watch reconnecting after the server restarts, watch ended for
 * good by [AUTH], and the errors.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createSecureContext, type SecureContext } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@hearth/log';
import { openSuiteAccounts, type Accounts } from '@hearth/accounts';
import { openMailStore, type MailStore } from '@hearth/mail-store';
import { waitFor } from '@hearth/testkit';
// The CLI does not depend on the POP3 service; its tests use the engine straight from its build.
import { createPop3Server, defaultSettings, storeBacking, type Pop3Server, type Pop3Settings } from '@hearth/pop3';
import { mailCommand } from '../dist/commands/mail.js';
import { capturedOutput } from './captured.js';

let dir: string;
let store: MailStore;
let accounts: Accounts;
let secureContext: SecureContext;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hearth-cli-mail-'));
  const tlsDir = join(dir, 'tls', 'self-signed');
  mkdirSync(tlsDir, { recursive: true });
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(tlsDir, 'key.pem'), '-out', join(tlsDir, 'cert.pem'),
    '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: 'ignore' });
  secureContext = createSecureContext({ cert: readFileSync(join(tlsDir, 'cert.pem')), key: readFileSync(join(tlsDir, 'key.pem')) });
  store = await openMailStore({ dir: join(dir, 'mail') });
  accounts = await openSuiteAccounts(dir, { passwordParams: { ln: 10, r: 8, p: 1 } });
  for (const [name, password] of [['alice', 'secret'], ['bob', 'hunter2']] as const) {
    store.addMaildrop(name);
    await accounts.add(name, password);
  }
  await store.deliver({ recipients: ['alice'], body: 'From: Bob <bob@localhost>\r\nSubject: first\r\n\r\nHello Alice.\r\n.dot\r\n' });
  await store.deliver({ recipients: ['alice'], body: 'From: carol@localhost\r\nSubject: second\r\n\r\nAgain.\r\n' });
});

afterAll(async () => {
  await store.close();
  await accounts.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Running {
  readonly pop3: Pop3Server;
  readonly net: Server;
  readonly port: number;
  stop(): Promise<void>;
}

const running: Running[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
});

async function startServer(port = 0, tls = true, settings: Partial<Pop3Settings> = {}): Promise<Running> {
  const pop3 = createPop3Server({
    backing: storeBacking(store, accounts),
    tls: () => (tls ? secureContext : undefined),
    settings: { ...defaultSettings(), loginFailureDelay: 10, ...settings },
    log: createLogger({ svc: 'pop3', level: 'silent' }),
  });
  const net = createServer((socket) => pop3.handle(socket, { implicitTls: false }));
  await new Promise<void>((resolve) => net.listen(port, '127.0.0.1', resolve));
  let stopped = false;
  const r: Running = {
    pop3,
    net,
    port: (net.address() as AddressInfo).port,
    async stop() {
      if (stopped) return;
      stopped = true;
      net.close();
      await pop3.stop(Date.now() + 200);
    },
  };
  running.push(r);
  return r;
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

interface Invocation {
  readonly promise: Promise<Result>;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly abort: () => void;
}

function invoke(argv: string[], options: { input?: string; password?: string } = {}): Invocation {
  const stdin = new PassThrough();
  const { stdout, stderr, out, err } = capturedOutput();
  stdin.end(options.input ?? '');
  const controller = new AbortController();
  const io = {
    stdin,
    stdout,
    stderr,
    env: { HEARTH_PASSWORD: options.password ?? 'secret' },
    cwd: dir,
    signal: controller.signal,
  };
  const promise = mailCommand.run(argv, io).then((code) => ({ code, stdout: out(), stderr: err() }));
  return { promise, stdout: out, stderr: err, abort: () => controller.abort() };
}

const mail = (argv: string[], options?: { input?: string; password?: string }): Promise<Result> => invoke(argv, options).promise;

describe('hearth mail', () => {
  it('check, list and read over STLS, trusting the certificate in DATA/tls/self-signed', async () => {
    const { port } = await startServer();
    const common = ['--user', 'alice', '--port', String(port), '--data', dir];
    const check = await mail(['check', ...common]);
    expect(check).toMatchObject({ code: 0, stderr: '' });
    expect(check.stdout).toMatch(/^2 messages \(\d+ octets\)\n$/);
    const list = await mail(['list', ...common]);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')).toEqual([
      expect.stringMatching(/^1\t\d+\tBob <bob@localhost>\tfirst$/),
      expect.stringMatching(/^2\t\d+\tcarol@localhost\tsecond$/),
      '',
    ]);
    const read = await mail(['read', '1', ...common]);
    expect(read).toEqual({ code: 0, stdout: 'From: Bob <bob@localhost>\nSubject: first\n\nHello Alice.\n.dot\n', stderr: '' });
  });

  it('verifies the certificate: an unknown CA fails, --insecure warns and goes on', async () => {
    const { port } = await startServer();
    const elsewhere = mkdtempSync(join(tmpdir(), 'hearth-cli-mail-empty-'));
    try {
      const failed = await mail(['check', '--user', 'alice', '--port', String(port), '--data', elsewhere]);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/^hearth mail: TLS with 127\.0\.0\.1:\d+ failed: .*certificate.*\n$/i);
      const insecure = await mail(['check', '--user', 'alice', '--port', String(port), '--data', elsewhere, '--insecure']);
      expect(insecure.code).toBe(0);
      expect(insecure.stderr).toMatch(/warning: --insecure/);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
    const cafile = await mail(['check', '--user', 'alice', '--port', String(port), '--cafile', join(dir, 'tls', 'self-signed', 'cert.pem')]);
    expect(cafile.code).toBe(0);
  });

  it('says clearly what went wrong: password, connection refused, usage', async () => {
    const { port } = await startServer();
    expect(await mail(['check', '--user', 'alice', '--port', String(port), '--data', dir], { password: 'wrong' })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'hearth mail: login as alice failed: Authentication failed\n',
    });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freePort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = await mail(['check', '--user', 'alice', '--port', String(freePort)]);
    expect(refused.code).toBe(75);
    expect(refused.stderr).toBe(`hearth mail: cannot connect to 127.0.0.1:${freePort}: connection refused (is the suite running? try hearth up)\n`);
    expect((await mail(['read', 'x', '--user', 'alice'])).stderr).toBe('hearth mail: read: expected one message number N\n');
    expect((await mail(['check', '--user', 'alice', '--password', 'secret'])).code).toBe(64);
    expect((await mail(['send', '--user', 'alice'])).stderr).toBe('hearth mail: send: expected --to USER\n');
  });

  it('send delivers to a local user through XSEND and refuses other domains', async () => {
    const { port } = await startServer();
    const before = store.listMessages('bob').length;
    const sent = await mail(['send', '--to', 'bob', '--subject', 'lunch?', '--user', 'alice', '--port', String(port), '--data', dir], {
      input: 'At noon.\n.\n',
    });
    expect(sent.code).toBe(0);
    expect(sent.stderr).toMatch(/^hearth mail: Message [0-9a-f]+ delivered to 1 maildrop\n$/);
    const messages = store.listMessages('bob');
    expect(messages.length).toBe(before + 1);
    const read = await mail(['read', String(messages.length), '--user', 'bob', '--port', String(port), '--data', dir], { password: 'hunter2' });
    // The server adds the Message-ID and From the message lacks (its Date is the CLI's).
    expect(read.stdout).toMatch(/^Return-Path: <alice@localhost>\nReceived: from alice \(\[127\.0\.0\.1\]\)\n\tby .* with POP3S id \S+\n\tfor <bob>; .*\nMessage-ID: <\S+>\nFrom: <alice@localhost>\nSubject: lunch\?\nTo: bob\nDate: .*\n\nAt noon\.\n\.\n$/);
    const relay = await mail(['send', '--to', 'x@example.com', '--user', 'alice', '--port', String(port), '--data', dir], { input: 'hi\n' });
    expect(relay).toEqual({
      code: 1,
      stdout: '',
      stderr: 'hearth mail: XSEND x@example.com: Relaying is not configured: x@example.com is not a local address\n',
    });
  });

  it('send takes each --to as one address: a local part that is not a dot-atom goes quoted, one given quoted comes back least quoted', async () => {
    const { port } = await startServer();
    const common = ['--user', 'alice', '--port', String(port), '--data', dir];
    const before = { alice: store.listMessages('alice').length, bob: store.listMessages('bob').length };
    // One recipient, "john doe", not john and doe@localhost: no such user, and nothing delivered to anyone.
    const spaced = await mail(['send', '--to', 'bob', '--to', 'john doe@localhost', ...common], { input: 'hi\n' });
    expect(spaced).toEqual({ code: 1, stdout: '', stderr: 'hearth mail: XSEND bob "john doe"@localhost: No such local user: "john doe"@localhost\n' });
    const quoted = await mail(['send', '--to', '"john doe"@localhost', ...common], { input: 'hi\n' });
    expect(quoted.stderr).toBe('hearth mail: XSEND "john doe"@localhost: No such local user: "john doe"@localhost\n');
    const escaped = await mail(['send', '--to', 'say "hi"@localhost', ...common], { input: 'hi\n' });
    expect(escaped.stderr).toBe('hearth mail: XSEND "say \\"hi\\""@localhost: No such local user: "say \\"hi\\""@localhost\n');
    expect({ alice: store.listMessages('alice').length, bob: store.listMessages('bob').length }).toEqual(before);
    // A quoted local part naming a user is that user; the To header gets the address without needless quotes.
    const sent = await mail(['send', '--to', '"bob"@localhost', '--to', '<alice@localhost>', '--subject', 'both', ...common], { input: 'Hi.\n' });
    expect(sent).toMatchObject({ code: 0, stdout: '' });
    expect(sent.stderr).toMatch(/^hearth mail: Message [0-9a-f]+ delivered to 2 maildrops\n$/);
    const messages = store.listMessages('bob');
    expect(messages.length).toBe(before.bob + 1);
    expect(store.listMessages('alice').length).toBe(before.alice + 1);
    const read = await mail(['read', String(messages.length), '--user', 'bob', '--port', String(port), '--data', dir], { password: 'hunter2' });
    expect(read.stdout).toMatch(/\nSubject: both\nTo: bob@localhost, alice@localhost\n/);
  });

  it('send refuses a recipient no address can carry, before it connects or reads the message', async () => {
    // No server on this port: a refusal says what is wrong with the address, not that the connection failed.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = String((closed.address() as AddressInfo).port);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = async (to: string): Promise<string> => {
      const r = await mail(['send', '--to', 'bob', '--to', to, '--user', 'alice', '--port', port], { input: 'hi\n' });
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 64, stdout: '' });
      return r.stderr;
    };
    expect(await refused('bob\r\nDELE 1')).toBe('hearth mail: --to "bob\\r\\nDELE 1": a control character (U+000D) cannot be sent in an address\n');
    expect(await refused('bob\u200b@localhost')).toBe('hearth mail: --to "bob\u200b@localhost": an invisible formatting character cannot be sent in an address\n');
    expect(await refused('Bob <bob@localhost>')).toBe('hearth mail: --to "Bob <bob@localhost>": give the address alone, without a name or angle brackets inside (bob@localhost)\n');
    expect(await refused('"john doe@localhost')).toBe('hearth mail: --to "\\"john doe@localhost": the quoted local part has no closing quote\n');
    expect(await refused('"john"doe@localhost')).toBe('hearth mail: --to "\\"john\\"doe@localhost": its quoted local part must be followed by @ and the domain, or end the address\n');
    expect(await refused('@localhost')).toBe('hearth mail: --to "@localhost": the address has no local part (the user before @)\n');
    expect(await refused('bob@')).toBe('hearth mail: --to "bob@": the address has no domain after @\n');
    expect(await refused('bob@local host')).toBe('hearth mail: --to "bob@local host": "local host" is not a domain name\n');
  });

  it('check and watch say "1 message" for a maildrop of one', async () => {
    store.addMaildrop('erin');
    await accounts.add('erin', 'secret');
    const [copy] = await store.deliver({ recipients: ['erin'], body: 'Subject: only one\r\n\r\nhi\r\n' });
    const { port } = await startServer();
    const common = ['--user', 'erin', '--port', String(port), '--data', dir];
    expect(await mail(['check', ...common])).toEqual({ code: 0, stdout: `1 message (${copy!.size} octets)\n`, stderr: '' });
    const watching = invoke(['watch', ...common]);
    await waitFor(() => watching.stderr().includes('watching erin'), { timeout: 10_000, what: 'watch to start' });
    expect(watching.stderr()).toBe(`hearth mail: watching erin at 127.0.0.1:${port} (1 message)\n`);
    watching.abort();
    expect((await watching.promise).code).toBe(0);
  });

  it('watch prints a line per pushed message (sent by another user) and stops when asked', async () => {
    const { port, pop3 } = await startServer();
    const watching = invoke(['watch', '--user', 'alice', '--port', String(port), '--data', dir]);
    await waitFor(() => watching.stderr().includes('watching alice'), { timeout: 10_000, what: 'watch to start' });
    await waitFor(() => pop3.hub.users.includes('alice'), { timeout: 10_000, what: 'the watch waiting in XIDLE' });
    const sent = await mail(['send', '--to', 'alice', '--subject', 'ping', '--user', 'bob', '--port', String(port), '--data', dir], {
      input: 'pong\n',
      password: 'hunter2',
    });
    expect(sent.code).toBe(0);
    await waitFor(() => watching.stdout().includes('ping'), { timeout: 10_000, what: 'the pushed message' });
    const n = store.listMessages('alice').length;
    expect(watching.stdout()).toMatch(new RegExp(`^${n}\\t\\d+\\t<bob@localhost>\\tping\\n$`));
    watching.abort();
    expect((await watching.promise).code).toBe(0);
  });

  it('watch reconnects after the server restarts and reports what arrived meanwhile', async () => {
    const first = await startServer();
    const watching = invoke(['watch', '--count', '1', '--user', 'alice', '--port', String(first.port), '--data', dir]);
    await waitFor(() => watching.stderr().includes('watching alice'), { timeout: 10_000, what: 'watch to start' });
    await first.stop();
    await waitFor(() => watching.stderr().includes('reconnecting'), { timeout: 10_000, what: 'the loss to be noticed' });
    await store.deliver({ recipients: ['alice'], body: 'Subject: while you were away\r\n\r\nhi\r\n' });
    await startServer(first.port);
    const result = await watching.promise;
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/connection to 127\.0\.0\.1:\d+ lost; reconnecting in 500 ms|the server ended the wait: \[SYS\/TEMP\] Server shutting down; try again later; reconnecting in 500 ms/);
    expect(result.stderr).toContain('reconnected');
    expect(result.stdout).toMatch(/^\d+\t\d+\t-\twhile you were away\n$/);
  });

  it('watch ends at once with exit 1 when the server ends its wait with [AUTH] (the password changed since its login), logging in no more', async () => {
    store.addMaildrop('dave');
    await accounts.add('dave', 'first');
    const { port, pop3 } = await startServer(0, true, { credentialCheckInterval: 100 });
    const watching = invoke(['watch', '--user', 'dave', '--port', String(port), '--data', dir], { password: 'first' });
    await waitFor(() => pop3.hub.users.includes('dave'), { timeout: 10_000, what: 'the watch waiting in XIDLE' });
    // Another handle on the accounts, as hearth user passwd in another process has.
    const other = await openSuiteAccounts(dir, { passwordParams: { ln: 10, r: 8, p: 1 } });
    try {
      await other.setPassword('dave', 'second');
    } finally {
      await other.close();
    }
    expect(await watching.promise).toEqual({
      code: 1,
      stdout: '',
      stderr:
        `hearth mail: watching dave at 127.0.0.1:${port} (0 messages)\n` +
        'hearth mail: login as dave ended: The password was changed, or the account disabled or removed, since this login; log in again\n',
    });
    expect(pop3.counters.get('authFailures')).toBe(0);
  });

  it('watch refuses a server without the push extension', async () => {
    // A minimal POP3 server with no extensions.
    const plain = createServer((socket) => {
      socket.on('error', () => {});
      socket.write('+OK plain POP3\r\n');
      socket.on('data', (data: Buffer) => {
        for (const line of data.toString().split('\r\n').filter((l) => l !== '')) {
          if (line === 'CAPA') socket.write('+OK\r\nUSER\r\nUIDL\r\n.\r\n');
          else if (line === 'QUIT') socket.end('+OK bye\r\n');
          else socket.write('+OK\r\n');
        }
      });
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const port = (plain.address() as AddressInfo).port;
      const result = await mail(['watch', '--user', 'alice', '--port', String(port)]);
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr: `hearth mail: 127.0.0.1:${port} does not offer X-HEARTH-PUSH: watch needs a Hearth POP3 server\n`,
      });
    } finally {
      plain.close();
    }
  });
});
