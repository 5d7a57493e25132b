/**
 * Real POP3 clients (Python poplib, curl, fetchmail, mpop) against createPop3Server over the
 * real @hearth/mail-store in a temp dir, on loopback.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSuiteAccounts, type Accounts } from '@hearth/accounts';
import { createLogger } from '@hearth/log';
import { openMailStore, type MailStore } from '@hearth/mail-store';
import { storeBacking } from '@hearth/pop3';
import { runProgram, spawnTied, waitFor, type ProgramResult } from '@hearth/testkit';
import { LineClient, testCertificate, removeDir, startPop3, transcript, type Cert, type Harness } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const M1 = 'From: bob@localhost\r\nTo: alice@localhost\r\nSubject: one\r\n\r\nHello Alice.\r\n.dotted line\r\n..two dots\r\nbye\r\n';
const M2 = 'From: carol@localhost\r\nSubject: two\r\n\r\nsecond message\r\n';

let dir: string;
let cert: Cert;
let store: MailStore;
let accounts: Accounts;
let harness: Harness;

/** Runs a client in the test's folder (by default) with this process's environment and `env`. */
function run(cmd: string, args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<ProgramResult> {
  return runProgram(cmd, args, { ...options, env: { ...process.env, ...options.env }, cwd: options.cwd ?? dir, timeoutMs: 20_000 });
}

async function python(code: string): Promise<string> {
  const result = await run('python3', ['-c', code], {
    env: { POP_PORT: String(harness.port), POPS_PORT: String(harness.tlsPort), CA: cert.certFile },
  });
  expect(result.stderr, result.stdout).toBe('');
  expect(result.code).toBe(0);
  return result.stdout;
}

const PY_PRELUDE = `
import os, poplib, ssl, json
port = int(os.environ['POP_PORT']); pops = int(os.environ['POPS_PORT'])
ctx = ssl.create_default_context(cafile=os.environ['CA'])
`;

async function addUser(name: string, password: string, messages: readonly string[]): Promise<void> {
  store.addMaildrop(name);
  await accounts.add(name, password);
  for (const body of messages) await store.deliver({ recipients: [name], body });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pop3-clients-'));
  cert = testCertificate();
  store = await openMailStore({ dir: join(dir, 'mail') });
  accounts = await openSuiteAccounts(dir, { passwordParams: { ln: 4, r: 8, p: 1 } });
  await addUser('alice', 'secret', [M1, M2]);
  accounts.setApopSecret('alice', 'apop-secret');
  for (const name of ['carol', 'dave', 'erin', 'frank']) await addUser(name, 'pw', [M1, M2]);
  harness = await startPop3({ backing: storeBacking(store, accounts), cert });
});

afterAll(async () => {
  await harness?.close();
  await store?.close();
  await accounts?.close();
  removeDir(dir);
});

describe('Python poplib', () => {
  it('USER/PASS, STAT, LIST, UIDL, RETR (dot-stuffing undone), TOP', async () => {
    const out = await python(`${PY_PRELUDE}
p = poplib.POP3('127.0.0.1', port, timeout=10)
p.user('alice'); p.pass_('secret')
stat = p.stat()
lst = [x.decode() for x in p.list()[1]]
uidl = [x.decode() for x in p.uidl()[1]]
retr = [x.decode() for x in p.retr(1)[1]]
top = [x.decode() for x in p.top(1, 1)[1]]
p.quit()
print(json.dumps({'stat': stat, 'list': lst, 'uidl': uidl, 'retr': retr, 'top': top}))
`);
    const result = JSON.parse(out);
    const uidls = store.listMessages('alice').map((m) => m.uidl);
    expect(result.stat).toEqual([2, M1.length + M2.length]);
    expect(result.list).toEqual([`1 ${M1.length}`, `2 ${M2.length}`]);
    expect(result.uidl).toEqual([`1 ${uidls[0]}`, `2 ${uidls[1]}`]);
    expect(uidls[0]).toMatch(/^[0-9A-F]{16}$/);
    expect(result.retr).toEqual(M1.split('\r\n').slice(0, -1));
    expect(result.top).toEqual(['From: bob@localhost', 'To: alice@localhost', 'Subject: one', '', 'Hello Alice.']);
  });

  it('apop()', async () => {
    const out = await python(`${PY_PRELUDE}
p = poplib.POP3('127.0.0.1', port, timeout=10)
print(p.apop('alice', 'apop-secret').decode()); print(p.stat()); p.quit()
`);
    expect(out).toMatch(/^\+OK Logged in, 2 messages/);
  });

  it('stls() then USER/PASS, and POP3_SSL', async () => {
    const out = await python(`${PY_PRELUDE}
p = poplib.POP3('127.0.0.1', port, timeout=10)
caps = p.capa()
print('STLS' in caps)
p.stls(context=ctx)
print('STLS' in p.capa())
p.user('alice'); p.pass_('secret'); print(p.stat()); p.quit()
s = poplib.POP3_SSL('127.0.0.1', pops, context=ctx, timeout=10)
print('STLS' in s.capa())
s.user('alice'); s.pass_('secret'); print(s.uidl(2).decode()); s.quit()
`);
    const lines = out.trim().split('\n');
    expect(lines.slice(0, 2)).toEqual(['True', 'False']);
    expect(lines[2]).toBe(`(2, ${M1.length + M2.length})`);
    expect(lines[3]).toBe('False');
    expect(lines[4]).toMatch(/^\+OK 2 [0-9A-F]{16}$/);
  });

  it('pipelined commands are answered in order; DELE then QUIT deletes', async () => {
    const out = await python(`${PY_PRELUDE}
p = poplib.POP3('127.0.0.1', port, timeout=10)
print('PIPELINING' in p.capa())
p.sock.sendall(b'USER carol\\r\\nPASS pw\\r\\nSTAT\\r\\nLIST 2\\r\\nDELE 1\\r\\nSTAT\\r\\nRETR 2\\r\\nQUIT\\r\\n')
for _ in range(6): print(p._getresp().decode())
print(len(p._getlongresp()[1]))
print(p._getresp().decode())
`);
    const lines = out.trim().split('\n');
    expect(lines[0]).toBe('True');
    expect(lines[1]).toMatch(/^\+OK/);
    expect(lines[2]).toMatch(/^\+OK Logged in, 2 messages/);
    expect(lines[3]).toBe(`+OK 2 ${M1.length + M2.length}`);
    expect(lines[4]).toBe(`+OK 2 ${M2.length}`);
    expect(lines[5]).toBe('+OK Message 1 deleted');
    expect(lines[6]).toBe(`+OK 1 ${M2.length}`);
    expect(lines[7]).toBe('4');
    expect(lines[8]).toMatch(/^\+OK .*1 message deleted/);
    expect(store.listMessages('carol').length).toBe(1);
  });
});

describe('curl pop3://', () => {
  const url = (path = ''): string => `pop3://127.0.0.1:${harness.port}/${path}`;
  const curl = (...args: string[]) => run('curl', ['-sS', '--max-time', '15', ...args]);

  it('LIST, RETR /1, -X UIDL, -X "TOP 1 0"', async () => {
    const list = await curl('-u', 'alice:secret', url());
    expect(list.stdout).toBe(`1 ${M1.length}\r\n2 ${M2.length}\r\n`);
    const retr = await curl('-u', 'alice:secret', url('1'));
    expect(retr.stdout).toBe(M1);
    const uidl = await curl('-u', 'alice:secret', '-X', 'UIDL', url());
    expect(uidl.stdout).toMatch(/^1 [0-9A-F]{16}\r\n2 [0-9A-F]{16}\r\n$/);
    const top = await curl('-u', 'alice:secret', '-X', 'TOP 1 0', url());
    expect(top.stdout).toBe('From: bob@localhost\r\nTo: alice@localhost\r\nSubject: one\r\n\r\n');
  });

  it('APOP, AUTH PLAIN with --sasl-ir, and a wrong password', async () => {
    const apop = await curl('-u', 'alice:apop-secret', '--login-options', 'AUTH=+APOP', url());
    expect(apop.stderr).toBe('');
    expect(apop.stdout).toBe(`1 ${M1.length}\r\n2 ${M2.length}\r\n`);
    const plain = await curl('-u', 'alice:secret', '--login-options', 'AUTH=PLAIN', '--sasl-ir', url('2'));
    expect(plain.stdout).toBe(M2);
    const wrong = await curl('-u', 'alice:nope', url());
    expect(wrong.code).not.toBe(0);
  });

  it('--ssl-reqd with STLS, and pop3s://', async () => {
    const stls = await curl('--ssl-reqd', '--cacert', cert.certFile, '-u', 'alice:secret', url('1'));
    expect(stls.stderr).toBe('');
    expect(stls.stdout).toBe(M1);
    const pops = await curl('--cacert', cert.certFile, '-u', 'alice:secret', `pop3s://localhost:${harness.tlsPort}/2`);
    expect(pops.stderr).toBe('');
    expect(pops.stdout).toBe(M2);
  });
});

describe('fetchmail and mpop', () => {
  it('fetchmail with uidl and keep fetches each message once; without keep it empties the maildrop', async () => {
    const mbox = join(dir, 'fetchmail.mbox');
    const rc = join(dir, 'fetchmailrc');
    const ids = join(dir, 'fetchids');
    const config = (keep: boolean): string =>
      `poll 127.0.0.1 service ${harness.port} protocol POP3 uidl\n` +
      `  user "dave" password "pw" ${keep ? 'keep' : 'nokeep fetchall'} sslproto "TLSv1.2+" sslcertfile "${cert.certFile}" sslcertck sslcommonname "localhost"\n` +
      `  mda "/bin/sh -c 'cat >> ${mbox}'"\n`;
    const fetch = async (keep: boolean) => {
      writeFileSync(rc, config(keep));
      chmodSync(rc, 0o600);
      return run('fetchmail', ['-f', rc, '-i', ids, '--nosyslog', '--nodetach', '--silent'], { env: { HOME: dir, FETCHMAILHOME: dir } });
    };
    const first = await fetch(true);
    expect(first.code, first.stderr).toBe(0);
    expect(readFileSync(mbox, 'utf8').match(/^Subject: /gm)?.length).toBe(2);
    const second = await fetch(true);
    expect(second.code, second.stderr).toBe(1); // 1: no new mail
    expect(readFileSync(mbox, 'utf8').match(/^Subject: /gm)?.length).toBe(2);
    expect(store.listMessages('dave').length).toBe(2);
    const third = await fetch(false);
    expect(third.code, third.stderr).toBe(0);
    expect(readFileSync(mbox, 'utf8').match(/^Subject: /gm)?.length).toBe(4);
    expect(store.listMessages('dave').length).toBe(0);
  });

  it('mpop with STLS, --keep=on --only-new=on', async () => {
    const mbox = join(dir, 'mpop.mbox');
    writeFileSync(mbox, '');
    const args = [
      '--host=127.0.0.1', `--port=${harness.port}`, '--user=erin', "--passwordeval=echo pw", '--auth=user',
      '--tls=on', '--tls-starttls=on', `--tls-trust-file=${cert.certFile}`, '--tls-host-override=localhost',
      '--keep=on', '--only-new=on', `--uidls-file=${join(dir, 'mpop-uidls')}`, `--delivery=mbox,${mbox}`,
    ];
    const first = await run('mpop', ['--quiet', ...args], { env: { HOME: dir } });
    expect(first.code, first.stderr + first.stdout).toBe(0);
    expect(readFileSync(mbox, 'utf8').match(/^Subject: /gm)?.length).toBe(2);
    const second = await run('mpop', ['--quiet', ...args], { env: { HOME: dir } });
    expect(second.code, second.stderr).toBe(0);
    expect(readFileSync(mbox, 'utf8').match(/^Subject: /gm)?.length).toBe(2);
    expect(store.listMessages('erin').length).toBe(2);
  });
});

describe('the maildrop lock across processes (exclusiveLock)', () => {
  let child: ChildProcess | undefined;
  let strict: Harness | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await strict?.close();
  });

  it('kill -9 of the service holding the lock releases it', async () => {
    strict = await startPop3({ backing: storeBacking(store, accounts), settings: { exclusiveLock: true } });
    child = spawnTied(process.execPath, [join(here, 'fixtures', 'locked-server.mjs'), dir, 'exclusive'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: join(here, '..'),
    });
    const port = await new Promise<number>((resolve, reject) => {
      child!.stdout!.once('data', (data: Buffer) => resolve(Number(data.toString().trim())));
      child!.once('exit', (code) => reject(new Error(`child exited ${code}`)));
    });
    const other = await LineClient.connect(port);
    await other.line();
    await transcript(other, [['USER frank', /^\+OK/], ['PASS pw', /^\+OK Logged in/], ['DELE 1', /^\+OK/]]);
    const here2 = await LineClient.connect(strict.port);
    await here2.line();
    await transcript(here2, [['USER frank', /^\+OK/], ['PASS pw', '-ERR [IN-USE] Maildrop is locked by another session']]);
    child.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
    await transcript(here2, [['USER frank', /^\+OK/], ['PASS pw', /^\+OK Logged in, 2 messages/], ['QUIT', /^\+OK/]]);
    other.destroy();
    expect(existsSync(join(dir, 'mail'))).toBe(true);
  });
});

/** The service with its log at `level` kept as parsed lines. */
async function loggedHarness(level: string): Promise<{ harness: Harness; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const logged = await startPop3({ backing: storeBacking(store, accounts), log: createLogger({ svc: 'pop3', level, destination: sink, pretty: false }) });
  return { harness: logged, lines };
}

describe('the log', () => {
  it('a failed login is a warning naming the user and the address, as SMTP AUTH and the file service log theirs (fail2ban, the admin page at warn)', async () => {
    const { harness: logged, lines } = await loggedHarness('warn');
    try {
      const result = await run('python3', ['-c', `
import os, poplib
p = poplib.POP3('127.0.0.1', int(os.environ['POP_PORT']), timeout=10)
p.user('carol')
try:
    p.pass_('wrong')
except poplib.error_proto as e:
    print(e.args[0].decode())
p.quit()
`], { env: { POP_PORT: String(logged.port) } });
      expect(result.stdout.trim()).toBe('-ERR [AUTH] Authentication failed');
      const line = await waitFor(() => lines.find((l) => l['msg'] === 'login failed'));
      expect(line).toMatchObject({ level: 40, user: 'carol', remote: '127.0.0.1' });
    } finally {
      await logged.close();
    }
  });

  it('a session that logged in ends with one line of what it retrieved and deleted, as Dovecot logs "Logged out retr=1/205, del=1/2"', async () => {
    await addUser('grace', 'pw', [M1, M2]);
    const { harness: logged, lines } = await loggedHarness('info');
    try {
      const result = await run('python3', ['-c', `
import os, poplib
port = int(os.environ['POP_PORT'])
p = poplib.POP3('127.0.0.1', port, timeout=10)
p.user('grace'); p.pass_('pw')
p.retr(1); p.retr(2); p.dele(1)
p.quit()
p = poplib.POP3('127.0.0.1', port, timeout=10)
p.user('grace'); p.pass_('pw')
p.retr(1); p.dele(1)
p.sock.close()
print('done')
`], { env: { POP_PORT: String(logged.port) } });
      expect(result.stdout.trim()).toBe('done');
      const quit = await waitFor(() => lines.find((l) => l['msg'] === 'logged out'));
      expect(quit).toMatchObject({ level: 30, user: 'grace', remote: '127.0.0.1', retrieved: 2, bytes: M1.length + M2.length, marked: 1, deleted: 1 });
      const dropped = await waitFor(() => lines.find((l) => l['msg'] === 'logged out without QUIT: nothing deleted'));
      expect(dropped).toMatchObject({ level: 30, user: 'grace', retrieved: 1, bytes: M2.length, marked: 1 });
      expect(store.listMessages('grace')).toHaveLength(1);
    } finally {
      await logged.close();
    }
  });
});
