/**
 * A data dir written by Hearth before accounts had their own package (users, hashes and APOP
 * secrets inside the mail store) opens with today's service: the accounts move to DATA/accounts
 * once, Python's poplib logs in over a real socket with the old passwords and APOP secret, and the
 * mail that was there reads back byte for byte.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSuiteAccounts } from '@hearth/accounts';
import { createLogger } from '@hearth/log';
import { defaultSettings, definition } from '@hearth/pop3';
import { LocalBus, ownListener, type RunningService, type ServiceListener } from '@hearth/runtime';
import { removeDir } from './helpers.js';
import { LEGACY, writeLegacyDataDir } from './legacy-layout.js';

let dir: string;
let running: RunningService<unknown> | undefined;

/** Starts the POP3 service on DATA (plain POP3 on a loopback port, plaintext logins, no failure delay). */
async function start(): Promise<number> {
  const log = createLogger({ svc: 'pop3', level: 'silent' });
  const spec = definition.defaultListeners.find((l) => l.name === 'pop3')!;
  const own = ownListener({ ...spec, port: 0 });
  let port = 0;
  const listener: ServiceListener = {
    spec: own.spec,
    async listen(server: Server) {
      await own.listen(server);
      port = (server.address() as AddressInfo).port;
    },
    bind: (socket) => own.bind(socket),
  };
  running = (await definition.start({
    name: 'pop3',
    settings: { ...defaultSettings(), allowPlaintextAuth: true, loginFailureDelay: 0 },
    suite: { dataDir: dir, mail: { domains: ['localhost'] }, tls: {} },
    log,
    listeners: new Map([['pop3', listener]]),
    bus: new LocalBus('pop3', log),
  })) as RunningService<unknown>;
  return port;
}

/** Runs `script` in python3 with poplib connected as `p`; returns its stdout. */
async function poplib(port: number, script: string): Promise<string> {
  const prelude = `import poplib, sys\np = poplib.POP3('127.0.0.1', ${port}, timeout=10)\n`;
  const { stdout } = await promisify(execFile)('python3', ['-c', prelude + script], { timeout: 20_000 });
  return stdout;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pop3-legacy-'));
  writeLegacyDataDir(dir);
});

afterEach(async () => {
  await running?.stop(Date.now() + 1000);
  running = undefined;
  removeDir(dir);
});

const uidl = (uid: number): string => `${uid.toString(16).toUpperCase().padStart(8, '0')}${LEGACY.uidValidity.toString(16).toUpperCase().padStart(8, '0')}`;

describe('a data dir made before @hearth/accounts', () => {
  it('logs in with the old passwords and APOP secret, and reads the mail that was there', async () => {
    const port = await start();
    const out = await poplib(
      port,
      `print(p.user('alice').decode()); print(p.pass_('alice-pw').decode())
print(p.stat())
print([x.decode() for x in p.uidl()[1]])
for i in (1, 2):
    sys.stdout.write(repr(b'\\r\\n'.join(p.retr(i)[1]).decode()) + '\\n')
p.quit()`,
    );
    const lines = out.trim().split('\n');
    const octets = LEGACY.small.length + LEGACY.large.length;
    expect(lines.slice(0, 4)).toEqual([
      '+OK Send your password',
      `+OK Logged in, 2 messages (${octets} octets)`,
      `(2, ${octets})`,
      `['1 ${uidl(1)}', '2 ${uidl(3)}']`,
    ]);
    // poplib splits on CRLF and drops the final one.
    expect(lines[4]).toBe(`'${LEGACY.small.slice(0, -2).replace(/\r\n/g, '\\r\\n')}'`);
    expect(lines[5]).toBe(`'${LEGACY.large.slice(0, -2).replace(/\r\n/g, '\\r\\n')}'`);

    expect(await poplib(port, `print(p.apop('alice', '${LEGACY.apop.alice}').decode()); print(p.stat()); p.quit()`)).toBe(
      `+OK Logged in, 2 messages (${octets} octets)\n(2, ${octets})\n`,
    );
    expect(await poplib(port, `p.user('bob'); print(p.pass_('bob-pw').decode()); p.quit()`)).toBe('+OK Logged in, 0 messages (0 octets)\n');
    await expect(poplib(port, `p.user('bob'); p.pass_('alice-pw')`)).rejects.toMatchObject({ stderr: expect.stringContaining('-ERR') });
  }, 60_000); // scrypt at N=2^15 (the old hashes' cost) on a shared machine

  it('moves the accounts once into DATA/accounts and keeps no credentials in the store', async () => {
    await start();
    await running?.stop(Date.now() + 1000);
    running = undefined;
    const store = new Database(join(dir, 'mail', 'store.db'), { readonly: true });
    expect(store.pragma('user_version', { simple: true })).toBe(3);
    expect(store.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('users')).not.toContain('password_hash');
    expect(store.prepare("SELECT name FROM sqlite_master WHERE name = 'apop_secrets'").all()).toEqual([]);
    expect(store.prepare('SELECT COUNT(*) FROM legacy_credentials').pluck().get()).toBe(0);
    store.close();

    const accounts = await openSuiteAccounts(dir, { create: false });
    try {
      expect(accounts.list().map((a) => [a.name, a.apop, a.createdAt.getTime()])).toEqual([
        ['alice', true, 1796319378298],
        ['bob', false, 1796319378308],
      ]);
      accounts.remove('bob');
    } finally {
      await accounts.close();
    }
    // A second start moves nothing again: bob stays deleted.
    const port = await start();
    await expect(poplib(port, `p.user('bob'); p.pass_('bob-pw')`)).rejects.toMatchObject({ stderr: expect.stringContaining('-ERR') });
    expect(await poplib(port, `p.user('alice'); print(p.pass_('alice-pw').decode()); p.quit()`)).toMatch(/^\+OK Logged in, 2 messages/);
  }, 60_000);
});
