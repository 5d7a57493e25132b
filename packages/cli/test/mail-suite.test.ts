/**
 * `hearth mail` without --host and --port connects where the suite running on the data dir has
 * its POP3 service: under a real `hearth up`, a plain listener on a free port (STLS) and an
 * implicit-TLS one only (its certificate verified against the suite's generated one); with a
 * control socket that answers `status` as a supervisor would, a wildcard address reached on
 * loopback and several pop3 services refused; with no supervisor (or one that cannot say), the
 * default 127.0.0.1:2110, and why it was tried when that fails (once, for watch).
 */
import { mkdirSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, runProgram, waitFor, type TempDir } from '@hearth/testkit';
import { startUp, stopAll, waitState, type Up } from '@hearth/testkit/hearth-up';
import { addUsers } from '@hearth/testkit/suite';
import { mailCommand } from '../dist/commands/mail.js';
import { capturedOutput } from './captured.js';
import { fakeControlSocket } from './fake-control.js';

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function mail(argv: readonly string[], password: string, input = ''): Promise<Result> {
  const stdin = new PassThrough();
  stdin.end(input);
  const { stdout, stderr, out, err } = capturedOutput();
  const code = await mailCommand.run([...argv], { stdin, stdout, stderr, env: { HEARTH_PASSWORD: password }, cwd: '/' });
  return { code, stdout: out(), stderr: err() };
}

const servers: Server[] = [];
const dirs: TempDir[] = [];
afterEach(async () => {
  await stopAll();
  for (const s of servers.splice(0)) await new Promise<void>((resolve) => s.close(() => resolve()));
  for (const d of dirs.splice(0)) await d.remove();
});

/** A fresh DIR/data. */
async function dataDir(): Promise<string> {
  const dir = await makeTempDir('hearth-mail-suite-');
  dirs.push(dir);
  const data = join(dir.path, 'data');
  mkdirSync(data);
  return data;
}

function listen(server: Server, port = 0): Promise<number> {
  servers.push(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/** A POP3 server with no extensions whose maildrop holds 3 messages of 120 octets; the logins it got. */
async function tinyPop3(port = 0): Promise<{ port: number; server: Server; logins: string[] }> {
  const logins: string[] = [];
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.write('+OK tiny POP3\r\n');
    let buffer = '';
    socket.on('data', (data: Buffer) => {
      buffer += data.toString('latin1');
      let nl: number;
      while ((nl = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        if (line === 'CAPA') socket.write('+OK\r\nUSER\r\n.\r\n');
        else if (line.startsWith('USER ')) {
          logins.push(line.slice(5));
          socket.write('+OK\r\n');
        } else if (line === 'STAT') socket.write('+OK 3 120\r\n');
        else if (line === 'QUIT') socket.end('+OK bye\r\n');
        else socket.write('+OK\r\n');
      }
    });
  });
  return { port: await listen(server, port), server, logins };
}

/** A data dir whose control socket answers every request with `result`, as a supervisor answers `status`. */
async function answering(result: unknown): Promise<{ data: string; requests: string[] }> {
  const data = await dataDir();
  const control = await fakeControlSocket(data, { done: true, ok: true, result });
  servers.push(control.server);
  return { data, requests: control.requests };
}

/** A status row of a pop3 service with these listeners. */
function pop3Row(name: string, listeners: readonly Record<string, unknown>[]): Record<string, unknown> {
  return { name, type: 'module', kind: 'pop3', state: 'running', pid: 1, restarts: 0, listeners };
}

async function pop3Up(listen: string): Promise<{ up: Up; port: number }> {
  const up = await startUp(`services:\n  mail:\n    service: pop3\n    standby: false\n    listen: { ${listen} }\n`);
  const status = await waitState(up, 'mail', 'running', 20_000);
  await addUsers(up.data, ['alice', 'bob']);
  return { up, port: status.listeners[0]!.port };
}

describe('hearth mail on the running suite', () => {
  it("reaches the suite's pop3 service on a free port without --port: a message sent through it, then counted", async () => {
    const { up, port } = await pop3Up('pop3: { address: 127.0.0.1, port: 0 }');
    expect(port).not.toBe(0);
    const sent = await mail(['send', '--to', 'alice', '--subject', 'hi', '--user', 'bob', '--data', up.data], 'bob-pw', 'Hello.\n');
    expect(sent.stderr).toMatch(/^hearth mail: Message [0-9a-f]+ delivered to 1 maildrop\n$/);
    expect(sent.code).toBe(0);
    const check = await mail(['check', '--user', 'alice', '--data', up.data], 'alice-pw');
    expect(check).toMatchObject({ code: 0, stderr: '' });
    expect(check.stdout).toMatch(/^1 message \(\d+ octets\)\n$/);
    // The message went through STLS on that listener: the suite's service says so in Received.
    const read = await mail(['read', '1', '--user', 'alice', '--data', up.data], 'alice-pw');
    expect(read.stdout).toMatch(/with POP3S id /);
  }, 60_000);

  it('reaches a pop3 service with only an implicit-TLS listener over TLS, its certificate verified', async () => {
    const { up, port } = await pop3Up('pop3s: { address: 127.0.0.1, port: 0, tls: true }');
    const sent = await mail(['send', '--to', 'alice', '--subject', 'over pop3s', '--user', 'bob', '--data', up.data], 'bob-pw', 'Hello.\n');
    expect(sent.code).toBe(0);
    const check = await mail(['check', '--user', 'alice', '--data', up.data], 'alice-pw');
    expect(check).toMatchObject({ code: 0, stderr: '' });
    expect(check.stdout).toMatch(/^1 message \(\d+ octets\)\n$/);
    // Trusting another certificate instead of the suite's: the handshake on that port fails.
    const other = join(up.dir.path, 'other.pem');
    const made = await runProgram('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(up.dir.path, 'other.key'), '-out', other, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
    expect(made.code).toBe(0);
    const untrusted = await mail(['check', '--user', 'alice', '--data', up.data, '--cafile', other], 'alice-pw');
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(new RegExp(`^hearth mail: TLS with 127\\.0\\.0\\.1:${port} failed: .*certificate.*\\n$`, 'i'));
    const insecure = await mail(['check', '--user', 'alice', '--data', up.data, '--cafile', other, '--insecure'], 'alice-pw');
    expect(insecure).toMatchObject({ code: 0, stderr: 'hearth mail: warning: --insecure: the server certificate is not verified\n' });
  }, 60_000);

  it('reaches a listener on a wildcard address on loopback, asking the supervisor for status', async () => {
    const pop3 = await tinyPop3();
    const { data, requests } = await answering([
      { name: 'smtp', type: 'module', kind: 'smtp', listeners: [{ name: 'smtp', protocol: 'tcp', address: '127.0.0.1', port: 1, tls: false }] },
      pop3Row('mail', [
        { name: 'pop3s', protocol: 'tcp', address: '0.0.0.0', port: 1, tls: true },
        { name: 'pop3', protocol: 'tcp', address: '0.0.0.0', port: pop3.port, tls: false },
      ]),
    ]);
    expect(await mail(['check', '--user', 'alice', '--data', data], 'secret')).toEqual({ code: 0, stdout: '3 messages (120 octets)\n', stderr: '' });
    expect(requests).toEqual(['{"verb":"status"}']);
    expect(pop3.logins).toEqual(['alice']);
  });

  it('refuses to choose between several pop3 services, naming them', async () => {
    const { data } = await answering([
      pop3Row('mail', [{ name: 'pop3', protocol: 'tcp', address: '127.0.0.1', port: 1, tls: false }]),
      pop3Row('mail2', [{ name: 'pop3', protocol: 'tcp', address: '127.0.0.1', port: 2, tls: false }]),
    ]);
    expect(await mail(['check', '--user', 'alice', '--data', data], 'secret')).toEqual({
      code: 64,
      stdout: '',
      stderr: `hearth mail: the suite running on ${data} has 2 pop3 services (mail, mail2): pass --port PORT (and --host HOST) to choose one\n`,
    });
  });
});

describe('hearth mail with no running suite to ask', () => {
  /** Holds 127.0.0.1:2110 with a tiny POP3 server (waiting while another test holds it). */
  async function holdDefaultPort(): Promise<Awaited<ReturnType<typeof tinyPop3>>> {
    return waitFor(
      async () => {
        try {
          return await tinyPop3(2110);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') return undefined;
          throw error;
        }
      },
      { timeout: 20_000, interval: 100, what: '127.0.0.1:2110 to be free for this test' },
    );
  }

  async function release(server: Server): Promise<void> {
    servers.splice(servers.indexOf(server), 1);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  it('tries 127.0.0.1:2110, says nothing when that works, and says why it was tried when it fails', async () => {
    const data = await dataDir();
    const held = await holdDefaultPort();
    expect(await mail(['check', '--user', 'alice', '--data', data], 'secret')).toEqual({ code: 0, stdout: '3 messages (120 octets)\n', stderr: '' });
    expect(held.logins).toEqual(['alice']);
    await release(held.server);
    expect(await mail(['check', '--user', 'alice', '--data', data], 'secret')).toEqual({
      code: 75,
      stdout: '',
      stderr:
        `hearth mail: note: no suite is running on ${data}, so the default 127.0.0.1:2110 was tried (--port PORT names another)\n` +
        'hearth mail: cannot connect to 127.0.0.1:2110: connection refused (is the suite running? try hearth up)\n',
    });
    // watch tries again and again: why the default is tried is said at its first attempt only.
    const stdin = new PassThrough();
    const { stdout, stderr, err } = capturedOutput();
    const controller = new AbortController();
    const io = { stdin, stdout, stderr, env: { HEARTH_PASSWORD: 'secret' }, cwd: '/', signal: controller.signal };
    const watching = mailCommand.run(['watch', '--user', 'alice', '--data', data], io);
    await waitFor(() => err().split('reconnecting in').length > 2, { timeout: 10_000, what: 'two attempts of watch' });
    controller.abort();
    expect(await watching).toBe(0);
    expect(err().split('\n').slice(0, 3)).toEqual([
      `hearth mail: note: no suite is running on ${data}, so the default 127.0.0.1:2110 was tried (--port PORT names another)`,
      'hearth mail: cannot connect to 127.0.0.1:2110: connection refused (is the suite running? try hearth up); reconnecting in 500 ms',
      'hearth mail: cannot connect to 127.0.0.1:2110: connection refused (is the suite running? try hearth up); reconnecting in 1 s',
    ]);
  });

  it('falls back to 127.0.0.1:2110 for a suite with no pop3 service, and for an older supervisor, saying which', async () => {
    const none = await answering([{ name: 'smtp', type: 'module', kind: 'smtp', listeners: [] }]);
    const held = await holdDefaultPort();
    expect(await mail(['check', '--user', 'alice', '--data', none.data], 'secret')).toMatchObject({ code: 0, stderr: '' });
    await release(held.server);
    const noPop3 = await mail(['check', '--user', 'alice', '--data', none.data], 'secret');
    expect(noPop3.code).toBe(75);
    expect(noPop3.stderr.split('\n')[0]).toBe(`hearth mail: note: the suite running on ${none.data} has no pop3 service, so the default 127.0.0.1:2110 was tried (--port PORT names another)`);
    // A supervisor from before status rows said which listeners are TLS.
    const older = await answering([pop3Row('mail', [{ name: 'pop3s', protocol: 'tcp', address: '127.0.0.1', port: 1 }])]);
    const old = await mail(['check', '--user', 'alice', '--data', older.data], 'secret');
    expect(old.code).toBe(75);
    expect(old.stderr.split('\n')[0]).toBe(
      `hearth mail: note: the supervisor on ${older.data} is older than this hearth: its status does not say which listeners are TLS, so the default 127.0.0.1:2110 was tried (--port PORT names another)`,
    );
  });
});
