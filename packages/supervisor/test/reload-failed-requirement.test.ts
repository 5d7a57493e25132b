/**
 * `hearth reload` of a config that changes a failed service that others require: the reload
 * restarts it, and restarts a changed service that requires it only once it came up; one it
 * does not bring up is handled as an added requirement that does not come up. Real processes
 * through the real CLI.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, waitFor } from '@hearth/testkit';
import type { TempDir } from '@hearth/testkit';
import { logged, loggedLine, startUp, stopAll, waitState } from '@hearth/testkit/hearth-up';
import type { Up } from '@hearth/testkit/hearth-up';

afterEach(stopAll);

/**
 * db runs long enough for what requires it to start, then fails (exit 78: not restarted); api
 * and worker require db, web requires api, bad requires db and fails at its start.
 */
function suite(db: string, api = '[sleep, "1000"]', bad = '[sh, -c, "exit 78"]'): string {
  return `services:
  db:
    command: ${db}
    ready: { delay: 100ms }
    backoff: { initial: 200ms }
  api:
    command: ${api}
    requires: [db]
  web:
    command: [sleep, "1000"]
    requires: [api]
  worker:
    command: [sleep, "1000"]
    requires: [db]
  bad:
    command: ${bad}
    ready: { delay: 300ms }
    requires: [db]
`;
}

async function startSuite(dir?: TempDir): Promise<Up> {
  const up = await startUp(suite('[sh, -c, "sleep 1; exit 78"]'), dir ? { dir } : {});
  await waitState(up, 'bad', 'failed');
  await waitState(up, 'db', 'failed');
  for (const name of ['api', 'web', 'worker']) expect(await up.service(name)).toMatchObject({ state: 'running' });
  return up;
}

/** Where the first line the supervisor logged with `msg` about `service` is, after `from` (waited for). */
async function lineOf(up: Up, msg: string, service: string, from = 0): Promise<number> {
  return (await loggedLine(up, msg, service, from)).index;
}

describe('hearth reload that restarts a failed service others require', () => {
  it('one that fails again: a running changed service that requires it is stopped (and what requires that one), a failed one stays failed, an unchanged one runs on', async () => {
    const up = await startSuite();
    const api = await up.service('api');
    const worker = await up.service('worker');
    const failed = await up.service('bad');

    up.writeConfig(suite('[sh, -c, "exit 78"]', '[sleep, "999"]', '[sleep, "1000"]'));
    expect(await up.cli('reload')).toMatchObject({
      code: 1,
      stdout: 'unchanged: web, worker\nweb: stopped (requires api, which is stopped)\napi: stopped (requires db, which is failed)\nbad: still failed (requires db, which is failed)\n',
      stderr: 'hearth reload: db: configuration error (exit 78): not restarted\n',
    });
    expect(logged(up, 'service started', 'db')).toHaveLength(2);
    expect(await up.service('db')).toMatchObject({ state: 'failed' });
    // api was never restarted without db: stopped, with its new config for its next start.
    expect(logged(up, 'service started', 'api')).toHaveLength(1);
    // The supervisor's log output is asynchronous: wait for the line.
    expect((await loggedLine(up, 'service stopped', 'api')).line).toMatchObject({ child: api.pid, killed: false });
    expect(await up.service('api')).toMatchObject({ state: 'stopped', pid: null, reason: 'stopped by a reload: it requires db, which is failed' });
    expect(await up.service('web')).toMatchObject({ state: 'stopped', pid: null, reason: 'stopped with api: it requires api' });
    const kept = `kept failed by a reload: it requires db, which is failed (its failure: ${failed.reason})`;
    expect(await up.service('bad')).toMatchObject({ state: 'failed', pid: null, reason: kept });
    expect(logged(up, 'service started', 'bad')).toHaveLength(1);
    // Its config did not change: the reload leaves it as it was, running without db.
    expect(await up.service('worker')).toMatchObject({ state: 'running', pid: worker.pid });

    // Its next start starts db first, and says why it cannot.
    const start = await up.cli('start', 'api');
    expect(start).toMatchObject({ code: 1, stdout: '' });
    expect(start.stderr).toMatch(/^hearth start: api requires db, which is failed \(.*\): api was not started\n$/);
  });

  it('one that comes up through its backoff: what requires it is restarted once it runs', async () => {
    const dir = await makeTempDir('hearth-sup-');
    const tried = join(dir.path, 'tried');
    const up = await startSuite(dir);
    const mark = up.lines.length;

    // Its first start exits 1 (backoff), its relaunch runs.
    up.writeConfig(suite(`[sh, -c, "test -e ${tried} || { touch ${tried}; exit 1; }; exec sleep 1000"]`, '[sleep, "999"]', '[sleep, "1000"]'));
    expect(await up.cli('reload')).toMatchObject({ code: 0, stdout: 'restarted: db, api, bad; unchanged: web, worker\n', stderr: '' });
    // The supervisor's log output is asynchronous: wait for the last line.
    await waitFor(() => logged(up, 'service started', 'bad').length === 2, { what: 'the log line' });
    expect(logged(up, 'service exited: restarting', 'db')).toHaveLength(1);
    expect(await up.service('db')).toMatchObject({ state: 'running' });
    const dbReady = await lineOf(up, 'service ready', 'db', mark);
    expect(await lineOf(up, 'stopping service', 'api', mark)).toBeGreaterThan(dbReady);
    expect(await lineOf(up, 'service started', 'bad', mark)).toBeGreaterThan(dbReady);
    for (const name of ['api', 'web', 'worker', 'bad']) expect(await up.service(name)).toMatchObject({ state: 'running', reason: null });
  });
});
