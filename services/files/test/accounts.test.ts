/**
 * The service as `hearth up` runs it: `definition` authenticates against the suite's accounts
 * (DATA/accounts), share rights follow the accounts' groups, and failed logins go through the
 * suite's login policy (per address and per user), each failure logged. A user may log in as its
 * address in one of the suite's mail domains, as for POP3 and SMTP.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openSuiteAccounts } from '@hearth/accounts';
import { definition, type FilesSettings } from '@hearth/files';
import { HandlerTable, LocalBus, ownListener, type RunningService } from '@hearth/runtime';
import { waitFor } from '@hearth/testkit';
import { Agent } from 'node:http';
import { capturingLogger, curl, request } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'files-accounts-'));
let port = 0;
let running: RunningService<unknown>;
let settings: FilesSettings;
/** The service's log lines (info and up). */
const logged: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  const accounts = await openSuiteAccounts(dir);
  await accounts.add('alice', 'alice-secret-1');
  await accounts.add('bob', 'bob-secret-12');
  await accounts.add('carol', 'carol-secret-1');
  accounts.setGroups('alice', ['family']);
  await accounts.close();
  mkdirSync(join(dir, 'photos'));
  writeFileSync(join(dir, 'photos', 'cat.jpg'), 'meow');
  settings = definition.settings.parse({ shares: { photos: { path: 'photos', read: ['@family'] } }, loginFailureDelay: 10, maxLoginFailuresPerUser: 3 });
  const log = capturingLogger(logged);
  const spec = { ...definition.defaultListeners[0]!, port: 0 };
  const own = ownListener(spec);
  const listener = {
    spec,
    async listen(server: Server) {
      await own.listen(server);
      port = (server.address() as AddressInfo).port;
    },
    bind: own.bind,
  };
  running = (await definition.start({
    name: 'files',
    settings,
    suite: { dataDir: dir, mail: { domains: ['Example.org', 'localhost'] }, tls: {} },
    log,
    listeners: new Map([[spec.name, listener]]),
    bus: new LocalBus('files', log),
    handlers: new HandlerTable(),
  })) as RunningService<unknown>;
});

afterAll(async () => {
  await running.stop(Date.now() + 1000);
  rmSync(dir, { recursive: true, force: true });
});

const get = (auth: string, path: string) => curl(['-u', auth, `http://127.0.0.1:${port}${path}`]);

it('lets a member of the group read the share, and refuses another user with 403', async () => {
  const alice = await get('Alice:alice-secret-1', '/photos/cat.jpg');
  expect(alice.status).toBe(200);
  expect(alice.body).toBe('meow');
  expect((await get('bob:bob-secret-12', '/photos/cat.jpg')).status).toBe(403);
  expect((await get('bob:bob-secret-12', '/home/')).status).toBe(200);
});

it('throttles failed logins per user', async () => {
  for (let i = 0; i < 3; i++) expect((await get(`bob:wrong-${i}`, '/home/')).status).toBe(401);
  const refused = await get('bob:bob-secret-12', '/home/');
  expect(refused.status).toBe(401);
  expect(refused.body).toMatch(/too many failed logins/);
  expect((await get('alice:alice-secret-1', '/home/')).status).toBe(200);
  // Each failure and the refusal are logged with the user and the address (for fail2ban).
  const failures = logged.filter((l) => l['level'] === 40 && l['user'] === 'bob').map((l) => [l['msg'], l['remote']]);
  expect(failures).toEqual([
    ...Array.from({ length: 3 }, () => ['login failed', '127.0.0.1']),
    ['login refused: too many failures', '127.0.0.1'],
  ]);
});

it("takes a user's address in a mail domain as its name, as POP3 and SMTP do; an address elsewhere is an unknown user", async () => {
  const put = await curl(['-u', 'alice@example.org:alice-secret-1', '-T', '-', `http://127.0.0.1:${port}/home/note.txt`], 'from the address');
  expect(put.status).toBe(201);
  const home = await get('alice@example.org:alice-secret-1', '/home/');
  expect(home.status).toBe(200);
  expect(home.body).toContain('note.txt');
  expect((await get('alice:alice-secret-1', '/home/note.txt')).body).toBe('from the address');
  expect((await get('ALICE@Localhost:alice-secret-1', '/photos/cat.jpg')).status).toBe(200);
  const elsewhere = await get('alice@other.example:alice-secret-1', '/home/');
  expect(elsewhere.status).toBe(401);
  expect(elsewhere.body).toMatch(/wrong user name or password/);
});

it("counts the failures of the name and of the address as one user's", async () => {
  expect((await get('carol@example.org:wrong-1', '/home/')).status).toBe(401);
  expect((await get('carol:wrong-2', '/home/')).status).toBe(401);
  expect((await get('Carol@example.org:wrong-3', '/home/')).status).toBe(401);
  const refused = await get('carol:carol-secret-1', '/home/');
  expect(refused.status).toBe(401);
  expect(refused.body).toMatch(/too many failed logins/);
});

it('takes the mail domains of a reload', async () => {
  await running.reload!(settings, { dataDir: dir, mail: { domains: ['example.net'] }, tls: {} });
  expect((await get('alice@example.org:alice-secret-1', '/home/')).status).toBe(401);
  expect((await get('alice@example.net:alice-secret-1', '/home/')).status).toBe(200);
});

it('refuses a disabled account with the 401 of a wrong password, ends its open connection within the recheck, and lets it in once enabled', async () => {
  const cli = await openSuiteAccounts(dir); // `hearth user`, in its own process
  try {
    await cli.add('dora', 'dora-secret-1');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const onConnection = () => request(`http://127.0.0.1:${port}`, 'GET', '/home/', { auth: 'dora:dora-secret-1', agent });
      expect((await onConnection()).status).toBe(200);
      cli.disable('dora', 'lost phone');
      // The connection's credentials are checked again within about a second: then refused.
      const refused = await waitFor(async () => {
        const r = await onConnection();
        return r.status === 401 ? r : undefined;
      });
      expect(refused.body).toMatch(/wrong user name or password/);
    } finally {
      agent.destroy();
    }
    // The right password and a wrong one get the same answer; more of them than the limit of
    // failures per user (3) do not get the address refused, since the right one is no failure.
    const wrong = await get('dora:wrong', '/home/');
    for (let i = 0; i < 4; i++) {
      const right = await get('dora:dora-secret-1', '/home/');
      expect([right.status, right.body]).toEqual([wrong.status, wrong.body]);
    }
    const disabled = logged.filter((l) => l['msg'] === 'login refused: account disabled');
    expect(disabled.length).toBeGreaterThanOrEqual(4);
    expect(disabled[0]).toMatchObject({ level: 40, user: 'dora', remote: '127.0.0.1' });
    cli.enable('dora');
    expect((await get('dora:dora-secret-1', '/home/')).status).toBe(200);
  } finally {
    await cli.close();
  }
});
