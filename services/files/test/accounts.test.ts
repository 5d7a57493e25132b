/**
 * The service as `hearth up` runs it: `definition` authenticates against the suite's accounts
 * (DATA/accounts), share rights follow the accounts' groups, and failed logins go through the
 * suite's login policy (per address and per user), each failure logged.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openSuiteAccounts } from '@hearth/accounts';
import { definition } from '@hearth/files';
import { HandlerTable, LocalBus, ownListener, type RunningService } from '@hearth/runtime';
import { capturingLogger, curl } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'files-accounts-'));
let port = 0;
let running: RunningService<unknown>;
/** The service's log lines (info and up). */
const logged: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  const accounts = await openSuiteAccounts(dir);
  await accounts.add('alice', 'alice-secret-1');
  await accounts.add('bob', 'bob-secret-12');
  accounts.setGroups('alice', ['family']);
  await accounts.close();
  mkdirSync(join(dir, 'photos'));
  writeFileSync(join(dir, 'photos', 'cat.jpg'), 'meow');
  const settings = definition.settings.parse({ shares: { photos: { path: 'photos', read: ['@family'] } }, loginFailureDelay: 10, maxLoginFailuresPerUser: 3 });
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
    suite: { dataDir: dir, mail: { domains: ['localhost'] }, tls: {} },
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
