/**
 * Services `hearth up` held back because a service they require did not come up: `hearth start`
 * and `hearth restart` of that service start them, as a reload that brings it up does (that case
 * is in `reload.test.ts`). Real processes through the real CLI.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, waitFor } from '@hearth/testkit';
import { logged, startUp, stopAll, waitState } from '@hearth/testkit/hearth-up';
import type { Up } from '@hearth/testkit/hearth-up';

afterEach(stopAll);

/** A command that exits 78 (a configuration error: not restarted) until `flag` exists, then runs. */
function failsUntil(flag: string): string {
  return `[sh, -c, "test -e ${flag} || exit 78; exec sleep 1000"]`;
}

async function heldBack(up: Up, ...names: string[]): Promise<void> {
  for (const name of names) await waitFor(async () => (await up.service(name)).reason !== null, { what: `${name} held back` });
}

describe('services held back at hearth up', () => {
  it('start with the service hearth start brings up, a chain of them in dependency order; not one stopped since, nor one whose other requirement is down', async () => {
    const dir = await makeTempDir('hearth-sup-');
    const flag = join(dir.path, 'fixed');
    const up = await startUp(`services:
  db:
    command: ${failsUntil(flag)}
    ready: { delay: 300ms }
  api:
    command: [sleep, "1000"]
    requires: [db]
  web:
    command: [sleep, "1000"]
    requires: [api]
  other:
    command: [sleep, "1000"]
    requires: [db]
  cache:
    command: [sleep, "1000"]
  both:
    command: [sleep, "1000"]
    requires: [db, cache]
  flaky:
    command: [sh, -c, "sleep 0.1; exit 78"]
    ready: { delay: 2s }
    requires: [db]
`, { dir });
    await waitState(up, 'db', 'failed');
    await waitState(up, 'cache', 'running');
    await heldBack(up, 'api', 'web', 'other', 'both', 'flaky');
    expect(await up.service('web')).toMatchObject({ state: 'stopped', reason: 'not started: it requires api, which is stopped' });
    expect(await up.service('both')).toMatchObject({ state: 'stopped', reason: 'not started: it requires db, which is failed' });
    // Stopped on request: not held back any more.
    expect((await up.cli('stop', 'other')).code).toBe(0);
    expect((await up.cli('stop', 'cache')).code).toBe(0);

    writeFileSync(flag, '');
    const started = await up.cli('start', 'db');
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/^db: running \(pid \d+\)\nstarted, no longer held back: api, web\nstill stopped, requires db: other, both\n$/);
    expect(started.stderr).toBe('hearth start: flaky: configuration error (exit 78): not restarted\n');
    for (const name of ['api', 'web']) expect(await up.service(name)).toMatchObject({ state: 'running', reason: null });
    const at = (svc: string) => logged(up, 'service started', svc)[0]?.['time'] as number;
    expect(at('web')).toBeGreaterThanOrEqual(at('api'));
    expect(await up.service('other')).toMatchObject({ state: 'stopped', pid: null, reason: null });
    expect(await up.service('flaky')).toMatchObject({ state: 'failed' });
    // Still held back, now for what it still waits for.
    expect(await up.service('both')).toMatchObject({ state: 'stopped', pid: null, reason: 'not started: it requires cache, which is stopped' });

    const cache = await up.cli('start', 'cache');
    expect(cache).toMatchObject({ code: 0, stderr: '' });
    expect(cache.stdout).toMatch(/^cache: running \(pid \d+\)\nstarted, no longer held back: both\n$/);
    expect(await up.service('both')).toMatchObject({ state: 'running', reason: null });
  });

  it('start with hearth restart, for the service restarted and for each requirement it started first', async () => {
    const dir = await makeTempDir('hearth-sup-');
    const flag = join(dir.path, 'fixed');
    const up = await startUp(`services:
  db:
    command: ${failsUntil(flag)}
    ready: { delay: 300ms }
  api:
    command: [sleep, "1000"]
    requires: [db]
  web:
    command: [sleep, "1000"]
    requires: [api]
  other:
    command: [sleep, "1000"]
    requires: [db]
`, { dir });
    await waitState(up, 'db', 'failed');
    await heldBack(up, 'api', 'web', 'other');

    writeFileSync(flag, '');
    const restarted = await up.cli('restart', 'api');
    expect(restarted).toMatchObject({ code: 0, stderr: '' });
    expect(restarted.stdout).toMatch(/^db: running \(pid \d+\) \(required by api\)\napi: running \(pid \d+\)\nstarted, no longer held back: web, other\n$/);
    for (const name of ['db', 'api', 'web', 'other']) expect(await up.service(name)).toMatchObject({ state: 'running', reason: null });
  });

  it('start with the requirements started first even when the service named does not come up, and the error names them', async () => {
    const dir = await makeTempDir('hearth-sup-');
    const flag = join(dir.path, 'fixed');
    const up = await startUp(`services:
  db:
    command: ${failsUntil(flag)}
    ready: { delay: 300ms }
  cache:
    command: [sh, -c, "exit 78"]
    ready: { delay: 1s }
  api:
    command: [sleep, "1000"]
    requires: [db, cache]
  other:
    command: [sleep, "1000"]
    requires: [db]
`, { dir });
    await waitState(up, 'db', 'failed');
    await waitState(up, 'cache', 'failed');
    await heldBack(up, 'api', 'other');

    writeFileSync(flag, '');
    const refused = await up.cli('start', 'api');
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toBe('hearth start: api requires cache, which is failed (configuration error (exit 78): not restarted): api was not started; started, no longer held back: other\n');
    expect(await up.service('db')).toMatchObject({ state: 'running' });
    expect(await up.service('other')).toMatchObject({ state: 'running', reason: null });
    expect(await up.service('api')).toMatchObject({ state: 'stopped', reason: 'not started: it requires cache, which is failed' });
  });
});
