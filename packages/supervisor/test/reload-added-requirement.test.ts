/**
 * `hearth reload` of a config that adds a service and makes services already configured require
 * it: one dependency order over the new config, as `hearth up`. Real processes through the real CLI.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectAndReadLine, connectionRefused, makeTempDir, waitFor } from '@hearth/testkit';
import { fixtureEntry, logged, loggedLine, startUp, stopAll, waitState } from '@hearth/testkit/hearth-up';
import type { Up } from '@hearth/testkit/hearth-up';

afterEach(stopAll);

/**
 * web runs, bad has failed, idle is stopped by hearth stop, front requires web; `api` (when given)
 * is added and required by web, bad and idle.
 */
function config(api?: string): string {
  const requires = api === undefined ? '' : '    requires: [api]\n';
  return `services:
${fixtureEntry('web', requires)}${fixtureEntry('bad', `${requires}    settings: { configError: ${api === undefined}, greeting: fixed }\n`)}  idle:
    command: [sleep, "1000"]
${requires}  front:
    command: [sleep, "1000"]
    requires: [web]
${api === undefined ? '' : `  api:\n    command: ${api}\n    ready: { delay: 500ms }\n`}`;
}

async function startSuite(): Promise<Up> {
  const up = await startUp(config());
  await waitState(up, 'web', 'running');
  await waitState(up, 'front', 'running');
  await waitState(up, 'bad', 'failed');
  await waitState(up, 'idle', 'running');
  expect((await up.cli('stop', 'idle')).code).toBe(0);
  return up;
}

/** Where the first line the supervisor logged with `msg` about `service` is, after `from` (waited for). */
async function lineOf(up: Up, msg: string, service: string, from = 0): Promise<number> {
  return (await loggedLine(up, msg, service, from)).index;
}

describe('hearth reload that adds a service and makes others require it', () => {
  it('starts it first, then restarts the running and the failed services that now require it; a stopped one stays stopped', async () => {
    const up = await startSuite();
    const before = await up.service('web');
    const mark = up.lines.length;

    up.writeConfig(config('[sleep, "1000"]'));
    expect(await up.cli('reload')).toMatchObject({ code: 0, stdout: 'added: api; restarted: web, bad; updated, still stopped: idle; unchanged: front\n', stderr: '' });
    // api was ready before either was restarted.
    const apiReady = await lineOf(up, 'service ready', 'api', mark);
    expect(await lineOf(up, 'new instance started (overlapped restart)', 'web', mark)).toBeGreaterThan(apiReady);
    expect(await lineOf(up, 'service started', 'bad', mark)).toBeGreaterThan(apiReady);
    const web = await up.service('web');
    expect(web).toMatchObject({ state: 'running', requires: ['api'] });
    expect(web.pid).not.toBe(before.pid);
    const bad = await up.service('bad');
    expect(bad).toMatchObject({ state: 'running', reason: null });
    expect(await connectAndReadLine(bad.listeners[0]!.port)).toBe(`fixed ${bad.pid}`);
    expect(await up.service('front')).toMatchObject({ state: 'running' });
    expect(await up.service('idle')).toMatchObject({ state: 'stopped', pid: null, reason: null, requires: ['api'] });

    // Its next start finds api running: nothing to start first.
    const started = await up.cli('start', 'idle');
    expect(started).toMatchObject({ code: 0, stderr: '' });
    expect(started.stdout).toMatch(/^idle: running \(pid \d+\)\n$/);
  });

  it('one that does not come up: a running service that now requires it is stopped (and what requires that one), a failed one stays failed, each saying why', async () => {
    const up = await startSuite();
    const web = await up.service('web');
    const failed = await up.service('bad');

    up.writeConfig(config('[sh, -c, "sleep 0.1; exit 78"]'));
    expect(await up.cli('reload')).toMatchObject({
      code: 1,
      stdout: 'added: api; updated, still stopped: idle; unchanged: front\nfront: stopped (requires web, which is stopped)\nweb: stopped (requires api, which is failed)\nbad: still failed (requires api, which is failed)\n',
      stderr: 'hearth reload: api: configuration error (exit 78): not restarted\n',
    });
    expect(await up.service('api')).toMatchObject({ state: 'failed' });
    // web was never restarted without api: stopped gracefully, its sockets closed.
    expect(await up.service('web')).toMatchObject({ state: 'stopped', pid: null, reason: 'stopped by a reload: it requires api, which is failed', listeners: [] });
    expect(logged(up, 'service started', 'web')).toHaveLength(1);
    expect(logged(up, 'new instance started (overlapped restart)', 'web')).toHaveLength(0);
    expect((await loggedLine(up, 'service stopped', 'web')).line).toMatchObject({ child: web.pid, code: 0, killed: false });
    expect(await connectionRefused(web.listeners[0]!.port)).toBe(true);
    expect(await up.service('front')).toMatchObject({ state: 'stopped', pid: null, reason: 'stopped with web: it requires web' });
    const kept = `kept failed by a reload: it requires api, which is failed (its failure: ${failed.reason})`;
    expect(await up.service('bad')).toMatchObject({ state: 'failed', pid: null, reason: kept, requires: ['api'] });
    expect(logged(up, 'service started', 'bad')).toHaveLength(1);
    expect(await up.service('idle')).toMatchObject({ state: 'stopped', reason: null, requires: ['api'] });

    // Their next start starts api first, and says why it cannot.
    const start = await up.cli('start', 'web');
    expect(start).toMatchObject({ code: 1, stdout: '' });
    expect(start.stderr).toMatch(/^hearth start: web requires api, which is failed \(.*\): web was not started\n$/);
  });

  it('waits for the added service through its backoff, as hearth up does, and restarts what now requires it once it runs', async () => {
    const dir = await makeTempDir('hearth-sup-');
    const tried = join(dir.path, 'tried');
    const suite = (api?: string): string => `services:
${fixtureEntry('web', api === undefined ? '' : '    requires: [api]\n')}${api === undefined ? '' : `  api:\n    command: ${api}\n    ready: { delay: 300ms }\n    backoff: { initial: 200ms }\n`}`;
    const up = await startUp(suite(), { dir });
    await waitState(up, 'web', 'running');
    // Its first start exits 1 (backoff), its relaunch runs.
    up.writeConfig(suite(`[sh, -c, "test -e ${tried} || { touch ${tried}; exit 1; }; exec sleep 1000"]`));
    expect(await up.cli('reload')).toMatchObject({ code: 0, stdout: 'added: api; restarted: web\n', stderr: '' });
    expect(logged(up, 'service exited: restarting', 'api')).toHaveLength(1);
    expect(await up.service('api')).toMatchObject({ state: 'running', restarts: 1 });
    expect(await lineOf(up, 'new instance started (overlapped restart)', 'web')).toBeGreaterThan(await lineOf(up, 'service ready', 'api'));
  });

  it('a service stopped by hearth stop while the reload waits for the added one is not started: it takes its new config for its next start', async () => {
    const suite = (api?: string): string => `services:
${fixtureEntry('web', api === undefined ? '' : '    requires: [api]\n')}${api === undefined ? '' : `  api:\n    command: ${api}\n    ready: { delay: 2s }\n`}`;
    const up = await startUp(suite());
    await waitState(up, 'web', 'running');
    up.writeConfig(suite('[sleep, "1000"]'));
    const reload = up.cli('reload');
    await waitFor(() => logged(up, 'service started', 'api').length > 0, { what: 'api to start' });
    expect((await up.cli('stop', 'web')).code).toBe(0);
    expect(await reload).toMatchObject({ code: 0, stdout: 'added: api; updated, still stopped: web\n', stderr: '' });
    expect(await up.service('web')).toMatchObject({ state: 'stopped', pid: null, reason: null, requires: ['api'], listeners: [] });
    expect(logged(up, 'service started', 'web')).toHaveLength(1);
    expect(await up.cli('reload')).toMatchObject({ code: 0, stdout: 'unchanged: web, api\n', stderr: '' });
  });

  it('a service held back at hearth up that now also requires the added one stays held back while it is down, and starts once a reload brings it up', async () => {
    const suite = (db: string, api?: string): string => `services:
  db:
    command: ${db}
    ready: { delay: 300ms }
  user:
    command: [sleep, "1000"]
    requires: [db${api === undefined ? '' : ', api'}]
${api === undefined ? '' : `  api:\n    command: ${api}\n    ready: { delay: 300ms }\n`}`;
    const up = await startUp(suite('[sh, -c, "exit 78"]'));
    await waitState(up, 'db', 'failed');
    await waitFor(async () => (await up.service('user')).reason !== null, { what: 'user held back' });
    expect(await up.service('user')).toMatchObject({ state: 'stopped', reason: 'not started: it requires db, which is failed' });

    // db mended, api added and broken: user is not started without api.
    up.writeConfig(suite('[sleep, "1000"]', '[sh, -c, "exit 78"]'));
    expect(await up.cli('reload')).toMatchObject({
      code: 1,
      stdout: 'added: api; restarted: db; updated, still stopped: user\n',
      stderr: 'hearth reload: api: configuration error (exit 78): not restarted\n',
    });
    expect(await up.service('user')).toMatchObject({ state: 'stopped', pid: null, reason: 'not started: it requires api, which is failed' });
    expect(logged(up, 'service started', 'user')).toHaveLength(0);

    up.writeConfig(suite('[sleep, "1000"]', '[sleep, "1000"]'));
    expect(await up.cli('reload')).toMatchObject({ code: 0, stdout: 'restarted: api; started, no longer held back: user; unchanged: db\n', stderr: '' });
    expect(await up.service('user')).toMatchObject({ state: 'running', reason: null });
  });
});
