/**
 * A required service that exits 0 before it is ready, under `restart: never` or `on-failure`:
 * its starts are over (shown as stopped), so `hearth up` holds back what requires it and
 * returns, and `hearth start` of it later starts them; a reload that restarts it stops the
 * changed services that require it, saying it exited. Real processes, the supervisor run in
 * this process to see `startAll` return; the reload also through `hearth up` and the CLI.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@hearth/log';
import { Supervisor, loadSuiteConfig } from '@hearth/supervisor';
import { FIXTURE_KINDS, makeTempDir } from '@hearth/testkit';
import type { TempDir } from '@hearth/testkit';
import { startUp, stopAll, waitState } from '@hearth/testkit/hearth-up';

let dir: TempDir | undefined;
let sup: Supervisor | undefined;
afterEach(async () => {
  await stopAll();
  await sup?.shutdown('test over');
  sup = undefined;
  await dir?.remove();
  dir = undefined;
});

/** A command that exits 0 at once until `flag` exists, then runs. */
function exitsUntil(flag: string): string {
  return `[sh, -c, "test -e ${flag} || exit 0; exec sleep 1000"]`;
}

/**
 * db, which exits 0 at once once `flag` is gone (`restart: never`, ready after `delay`); api
 * (`sleep SLEEP`) requires it, web requires api. A reload that changes `delay` and `sleep`
 * restarts db and api.
 */
function restartedSuite(flag: string, delay: string, sleep: string): string {
  return `services:
  db:
    command: ${exitsUntil(flag)}
    restart: never
    ready: { delay: ${delay} }
  api:
    command: [sleep, "${sleep}"]
    requires: [db]
  web:
    command: [sleep, "1000"]
    requires: [api]
`;
}

describe('a requirement that exits 0 before it is ready', () => {
  it('holds back what requires it at hearth up, which returns; hearth start of it, once it runs, starts them', async () => {
    dir = await makeTempDir('hearth-sup-');
    const flag = join(dir.path, 'fixed');
    const file = join(dir.path, 'hearth.yaml');
    writeFileSync(
      file,
      `services:
  db:
    command: ${exitsUntil(flag)}
    restart: never
    ready: { delay: 1s }
  cache:
    command: ${exitsUntil(flag)}
    restart: on-failure
    ready: { delay: 1s }
  api:
    command: [sleep, "1000"]
    requires: [db]
  web:
    command: [sleep, "1000"]
    requires: [api]
  worker:
    command: [sleep, "1000"]
    requires: [cache]
`,
    );
    const config = await loadSuiteConfig(file, { registry: FIXTURE_KINDS });
    const log = createLogger({ svc: 'supervisor', level: 'silent' });
    sup = await Supervisor.open({ config, registry: FIXTURE_KINDS, dataDir: join(dir.path, 'data'), log, logLevel: 'silent', lifeline: false });
    // What hearth up waits for: it hung, waiting for db and cache to run.
    await sup.startAll();
    const status = (name: string) => sup!.unit(name)!.status();
    // Shown as stopped, as before; the reason says it exited and is not started again.
    expect(status('db')).toMatchObject({ state: 'stopped', pid: null, lastExit: { code: 0, signal: null }, reason: 'exited (exit code 0); restart: never does not start it again' });
    expect(status('cache')).toMatchObject({ state: 'stopped', pid: null, lastExit: { code: 0, signal: null }, reason: 'exited (exit code 0); restart: on-failure does not start it again' });
    expect(status('api')).toMatchObject({ state: 'stopped', pid: null, reason: 'not started: it requires db, which exited' });
    // api is held back, not ended: stopped.
    expect(status('web')).toMatchObject({ state: 'stopped', pid: null, reason: 'not started: it requires api, which is stopped' });
    expect(status('worker')).toMatchObject({ state: 'stopped', pid: null, reason: 'not started: it requires cache, which exited' });

    // hearth start api starts db first, which exits again: api is not started, and this returns.
    await expect(sup.startService('api', 'start')).rejects.toThrow(/^api requires db, which exited \(exit code 0\); restart: never does not start it again: api was not started$/);
    expect(status('api')).toMatchObject({ state: 'stopped', reason: 'not started: it requires db, which exited' });
    expect(status('db')).toMatchObject({ state: 'stopped', reason: 'exited (exit code 0); restart: never does not start it again' });

    writeFileSync(flag, '');
    expect(await sup.startService('db', 'start')).toMatchObject({ startedWith: [], startedHeldBack: ['api', 'web'], heldBackFailed: [] });
    expect(await sup.startService('cache', 'start')).toMatchObject({ startedWith: [], startedHeldBack: ['worker'], heldBackFailed: [] });
    // Running again, the ended ones and those held back for them have no reason left.
    for (const name of ['db', 'cache', 'api', 'web', 'worker']) expect(status(name)).toMatchObject({ state: 'running', reason: null });
    expect(await sup.shutdown('test over')).toBe(true);
  });

  it('a reload that restarts it, after which it exits: the changed services that require it are stopped, saying it exited', async () => {
    dir = await makeTempDir('hearth-sup-');
    const flag = join(dir.path, 'fixed');
    const file = join(dir.path, 'hearth.yaml');
    const suite = (delay: string, sleep: string): string => restartedSuite(flag, delay, sleep);
    writeFileSync(flag, '');
    writeFileSync(file, suite('500ms', '1000'));
    const config = await loadSuiteConfig(file, { registry: FIXTURE_KINDS });
    const log = createLogger({ svc: 'supervisor', level: 'silent' });
    sup = await Supervisor.open({ config, registry: FIXTURE_KINDS, dataDir: join(dir.path, 'data'), log, logLevel: 'silent', lifeline: false });
    await sup.startAll();
    const status = (name: string) => sup!.unit(name)!.status();
    for (const name of ['db', 'api', 'web']) expect(status(name)).toMatchObject({ state: 'running' });

    // db and api change; db, restarted, now exits 0 at once: its starts are over.
    rmSync(flag);
    writeFileSync(file, suite('600ms', '1001'));
    const result = await sup.reload();
    expect(result.failed).toEqual([{ name: 'db', error: 'db: exited (exit code 0); restart: never does not start it again' }]);
    // In the order they were stopped: what requires api first.
    expect(result.stoppedForRequirement).toEqual([
      { name: 'web', requires: 'api', state: 'stopped' },
      { name: 'api', requires: 'db', state: 'exited' },
    ]);
    expect(status('api')).toMatchObject({ state: 'stopped', pid: null, reason: 'stopped by a reload: it requires db, which exited' });
    expect(status('web')).toMatchObject({ state: 'stopped', pid: null, reason: 'stopped with api: it requires api' });
    expect(await sup.shutdown('test over')).toBe(true);
  });

  it('hearth reload says so in its own words, the same case through hearth up and the CLI', async () => {
    dir = await makeTempDir('hearth-sup-');
    const flag = join(dir.path, 'fixed');
    const suite = (delay: string, sleep: string): string => restartedSuite(flag, delay, sleep);
    writeFileSync(flag, '');
    const up = await startUp(suite('500ms', '1000'));
    for (const name of ['db', 'api', 'web']) await waitState(up, name, 'running');
    rmSync(flag);
    up.writeConfig(suite('600ms', '1001'));
    expect(await up.cli('reload')).toEqual({
      code: 1,
      stdout: 'unchanged: web\nweb: stopped (requires api, which is stopped)\napi: stopped (requires db, which exited)\n',
      stderr: 'hearth reload: db: exited (exit code 0); restart: never does not start it again\n',
    });
    expect(await up.service('api')).toMatchObject({ state: 'stopped', reason: 'stopped by a reload: it requires db, which exited' });
  });
});
