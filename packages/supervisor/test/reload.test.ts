/** `hearth reload` of services that are not running, with real processes through the real CLI. */
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectAndReadLine, connectionRefused, FIXTURE_SERVICE_PATH, makeTempDir, waitFor } from '@hearth/testkit';
import { fixtureEntry, logged, loggedLine, startUp, stopAll, waitState } from '@hearth/testkit/hearth-up';

afterEach(stopAll);

/**
 * Tests of several reloads, stops and starts each, one of them through new instances that take
 * seconds to be ready: under other loads (the suite runs two files at once) they have taken up to
 * 27 s, near the suite's 30 s timeout, which is there to catch a hang, not a slow machine.
 */
const SLOW_TEST_MS = 60_000;

describe('hearth reload', () => {
  it('applies a new config to a stopped service and leaves it stopped, its reason kept; hearth start then runs the new config', async () => {
    const config = (version: string, apiListen: string, soloGreeting: string): string => `services:
  db:
    command: [sleep, "${version}"]
  api:
    module: ${FIXTURE_SERVICE_PATH}
    listen: ${apiListen}
    requires: [db]
  web:
    command: [sleep, "${version}"]
    requires: [api]
${fixtureEntry('solo', `    settings: { greeting: ${soloGreeting} }\n`)}`;
    const up = await startUp(config('1000', '{ main: { port: 0 } }', 'one'));
    for (const name of ['db', 'api', 'web', 'solo']) await waitState(up, name, 'running');
    const port = (await up.service('api')).listeners[0]!.port;
    expect((await up.cli('stop', 'db')).code).toBe(0);
    expect((await up.cli('stop', 'solo')).code).toBe(0);

    // Every kind of change: commands, listeners (a restart when running), settings alone (in place when running).
    up.writeConfig(config('999', '{ main: { port: 0 }, second: { port: 0 } }', 'two'));
    const res = await up.cli('reload');
    expect(res).toMatchObject({ code: 0, stdout: 'updated, still stopped: db, api, web, solo\n', stderr: '' });
    expect(await up.service('db')).toMatchObject({ state: 'stopped', pid: null, reason: null });
    expect(await up.service('api')).toMatchObject({ state: 'stopped', pid: null, reason: 'stopped with db: it requires db', listeners: [] });
    expect(await up.service('web')).toMatchObject({ state: 'stopped', pid: null, reason: 'stopped with db: it requires api, which requires db' });
    expect(await up.service('solo')).toMatchObject({ state: 'stopped', pid: null, reason: null, listeners: [] });
    expect(await connectionRefused(port)).toBe(true);

    // The next start runs the new config: solo's new settings, api's new listeners (db started first).
    expect((await up.cli('start', 'solo')).code).toBe(0);
    const solo = await up.service('solo');
    expect(await connectAndReadLine(solo.listeners[0]!.port)).toBe(`two ${solo.pid}`);
    const started = await up.cli('start', 'api');
    expect(started.stdout).toMatch(/^db: running \(pid \d+\) \(required by api\)\napi: running \(pid \d+\)\nstill stopped, requires api: web\n$/);
    const api = await up.service('api');
    expect(api.listeners.map((l) => l.name)).toEqual(['main', 'second']);
    for (const l of api.listeners) expect(await connectAndReadLine(l.port)).toBe(`hello ${api.pid}`);
    expect(await up.service('db')).toMatchObject({ state: 'running' });
    expect(await up.service('web')).toMatchObject({ state: 'stopped', reason: 'stopped with db: it requires api, which requires db' });
  });

  it('a service stopped while the reload restarts it takes the new config for its next start, listed as updated and still stopped', async () => {
    const config = (listen: string, readyDelay: string): string => `services:
  solo:
    module: ${FIXTURE_SERVICE_PATH}
    listen: ${listen}
    settings: { readyDelay: ${readyDelay} }
`;
    const up = await startUp(config('{ main: { port: 0 } }', '0'));
    await waitState(up, 'solo', 'running');
    // A new listener is an overlapped restart; its new instance takes 3 s to be ready.
    up.writeConfig(config('{ main: { port: 0 }, second: { port: 0 } }', '3s'));
    const reload = up.cli('reload');
    await waitFor(() => up.lines.some((l) => l['msg'] === 'new instance started (overlapped restart)' && l['service'] === 'solo'), { what: 'the new instance' });
    expect((await up.cli('stop', 'solo')).code).toBe(0);
    expect(await reload).toMatchObject({ code: 0, stdout: 'updated, still stopped: solo\n', stderr: '' });
    // The next start runs the new config (it ran the old one, and a reload found nothing to change).
    expect((await up.cli('start', 'solo')).code).toBe(0);
    const solo = await up.service('solo');
    expect(solo.listeners.map((l) => l.name)).toEqual(['main', 'second']);
    for (const l of solo.listeners) expect(await connectAndReadLine(l.port)).toBe(`hello ${solo.pid}`);
    expect(await up.cli('reload')).toMatchObject({ code: 0, stdout: 'unchanged: solo\n' });
  }, SLOW_TEST_MS);

  it('a restart whose new instance does not come up keeps the running config recorded: the same file reloaded again retries it', async () => {
    const config = (version: string, settings: string): string => `services:
${fixtureEntry('solo', `    env: { VERSION: "${version}" }\n    settings: ${settings}\n`)}`;
    const up = await startUp(config('1', '{ greeting: one }'));
    const before = await waitState(up, 'solo', 'running');
    const port = before.listeners[0]!.port;
    // A new env: is a restart (overlapped); its new instance fails at its start.
    up.writeConfig(config('2', '{ greeting: two, failStart: true }'));
    const keeps = new RegExp(`^hearth reload: solo: the new instance did not become ready \\(.*failStart is set.*\\); the old instance \\(pid ${before.pid}\\) keeps serving\n$`);
    const first = await up.cli('reload');
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(keeps);
    expect(await up.service('solo')).toMatchObject({ state: 'running', pid: before.pid });
    expect(await connectAndReadLine(port)).toBe(`one ${before.pid}`);
    // What the supervisor records for solo is what its instance runs.
    expect(await up.request({ verb: 'settings', name: 'solo' })).toMatchObject({ settings: { greeting: 'one', failStart: false } });

    // The same file again: tried again (it said 'unchanged: solo' and exited 0), and fails again.
    const again = await up.cli('reload');
    expect(again.code).toBe(1);
    expect(again.stdout).not.toContain('unchanged');
    expect(again.stderr).toMatch(keeps);
    expect(logged(up, 'new instance started (overlapped restart)', 'solo')).toHaveLength(2);

    up.writeConfig(config('2', '{ greeting: two }'));
    expect(await up.cli('reload')).toMatchObject({ code: 0, stdout: 'restarted: solo\n', stderr: '' });
    const after = await up.service('solo');
    expect(await connectAndReadLine(after.listeners[0]!.port)).toBe(`two ${after.pid}`);
    expect(await up.cli('reload')).toMatchObject({ code: 0, stdout: 'unchanged: solo\n' });
  });

  it('a suite-wide change the service refuses in place and whose restart fails is tried again by the next reload of the same file', async () => {
    const dir = await makeTempDir('hearth-sup-');
    // While this file exists, a new instance of solo fails at its start; the running one goes on.
    const broken = join(dir.path, 'broken');
    const config = (domain: string): string => `mail: { domains: [${domain}] }
services:
${fixtureEntry('solo', `    settings: { refuseReload: true, failStartWhileFile: ${broken} }\n`)}`;
    const up = await startUp(config('one.test'), { dir });
    const before = await waitState(up, 'solo', 'running');
    writeFileSync(broken, '');
    up.writeConfig(config('two.test'));
    const keeps = new RegExp(`^hearth reload: solo: the new instance did not become ready \\(.*failStartWhileFile.*\\); the old instance \\(pid ${before.pid}\\) keeps serving\n$`);
    const first = await up.cli('reload');
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(keeps);
    expect(logged(up, 'reload refused by the service: restarting it', 'solo')).toHaveLength(1);

    // The same file again: tried again (it said 'unchanged: solo' and exited 0), and fails again.
    const again = await up.cli('reload');
    expect(again.code).toBe(1);
    expect(again.stdout).not.toContain('unchanged');
    expect(again.stderr).toMatch(keeps);
    expect(logged(up, 'new instance started (overlapped restart)', 'solo')).toHaveLength(2);
    expect(await up.service('solo')).toMatchObject({ state: 'running', pid: before.pid });

    // Mended outside the config: the same file once more restarts it, and then nothing is left to do.
    unlinkSync(broken);
    expect(await up.cli('reload')).toMatchObject({ code: 0, stdout: 'restarted: solo\n', stderr: '' });
    expect(await up.cli('reload')).toMatchObject({ code: 0, stdout: 'unchanged: solo\n', stderr: '' });

    // A new instance started otherwise (hearth restart) is given the suite's settings of now: nothing to retry.
    writeFileSync(broken, '');
    up.writeConfig(config('three.test'));
    expect((await up.cli('reload')).code).toBe(1);
    unlinkSync(broken);
    expect((await up.cli('restart', 'solo')).code).toBe(0);
    expect(await up.cli('reload')).toMatchObject({ code: 0, stdout: 'unchanged: solo\n', stderr: '' });
  }, SLOW_TEST_MS);

  it('leaves stopped a service held back by a failed requirement', async () => {
    const config = (version: string): string => `services:
  broken:
    command: [sh, -c, "sleep 0.2; exit 78"]
    ready: { delay: 2s }
  user:
    command: [sleep, "${version}"]
    requires: [broken]
`;
    const up = await startUp(config('1000'));
    await waitState(up, 'broken', 'failed');
    await waitFor(async () => (await up.service('user')).reason !== null, { what: 'user held back' });
    up.writeConfig(config('999'));
    const res = await up.cli('reload');
    expect(res).toMatchObject({ code: 0, stdout: 'updated, still stopped: user; unchanged: broken\n' });
    expect(await up.service('user')).toMatchObject({ state: 'stopped', pid: null, reason: 'not started: it requires broken, which is failed' });
  });

  it('starts the services a failed requirement held back once a reload brings it up, not one stopped by hearth stop', async () => {
    const config = (broken: string): string => `services:
  broken:
    command: ${broken}
    ready: { delay: 1s }
  user:
    command: [sleep, "1000"]
    requires: [broken]
  web:
    command: [sleep, "1000"]
    requires: [user]
  other:
    command: [sleep, "1000"]
    requires: [broken]
`;
    const up = await startUp(config('[sh, -c, "sleep 0.2; exit 78"]'));
    await waitState(up, 'broken', 'failed');
    for (const name of ['user', 'web', 'other']) await waitFor(async () => (await up.service(name)).reason !== null, { what: `${name} held back` });
    expect(await up.service('web')).toMatchObject({ state: 'stopped', reason: 'not started: it requires user, which is stopped' });
    expect((await up.cli('stop', 'other')).code).toBe(0);

    up.writeConfig(config('[sleep, "1000"]'));
    const res = await up.cli('reload');
    expect(res).toMatchObject({ code: 0, stdout: 'restarted: broken; started, no longer held back: user, web; unchanged: other\n', stderr: '' });
    for (const name of ['broken', 'user', 'web']) expect(await up.service(name)).toMatchObject({ state: 'running', reason: null });
    // Stopped on request: no longer held back, so nothing to tell but that.
    expect(await up.service('other')).toMatchObject({ state: 'stopped', pid: null, reason: null });
  });

  it('a reload that makes a running service require a stopped one stops it, says why, and records the new config for its next start', async () => {
    const config = (webExtra: string): string => `services:
  api:
    command: [sleep, "1000"]
${fixtureEntry('web', webExtra)}`;
    const up = await startUp(config(''));
    await waitState(up, 'api', 'running');
    const web = await waitState(up, 'web', 'running');
    const port = web.listeners[0]!.port;
    expect((await up.cli('stop', 'api')).code).toBe(0);

    up.writeConfig(config('    requires: [api]\n    settings: { greeting: new }\n'));
    const res = await up.cli('reload');
    expect(res).toMatchObject({ code: 0, stdout: 'unchanged: api\nweb: stopped (requires api, which is stopped)\n', stderr: '' });
    expect(await up.service('web')).toMatchObject({ state: 'stopped', pid: null, reason: 'stopped by a reload: it requires api, which is stopped', listeners: [] });
    // Stopped gracefully, its sockets closed as at hearth stop; never restarted without api.
    expect((await loggedLine(up, 'service stopped', 'web')).line).toMatchObject({ child: web.pid, code: 0, killed: false });
    expect(logged(up, 'service started', 'web')).toHaveLength(1);
    expect(await connectionRefused(port)).toBe(true);

    // hearth start web starts api first, then web with its new config.
    const started = await up.cli('start', 'web');
    expect(started).toMatchObject({ code: 0, stderr: '' });
    expect(started.stdout).toMatch(/^api: running \(pid \d+\) \(required by web\)\nweb: running \(pid \d+\)\n$/);
    const now = await up.service('web');
    expect(await up.service('api')).toMatchObject({ state: 'running' });
    expect(await connectAndReadLine(now.listeners[0]!.port)).toBe(`new ${now.pid}`);
    expect(await up.cli('reload')).toMatchObject({ code: 0, stdout: 'unchanged: api, web\n' });
  });

  it('a changed service stopped with one a reload stops for its requirement is listed once, as stopped with it', async () => {
    const config = (webRequires: string, frontVersion: string): string => `services:
  api:
    command: [sleep, "1000"]
  web:
    command: [sleep, "1000"]
${webRequires}  front:
    command: [sleep, "${frontVersion}"]
    requires: [web]
`;
    const up = await startUp(config('', '1000'));
    await waitState(up, 'front', 'running');
    expect((await up.cli('stop', 'api')).code).toBe(0);

    up.writeConfig(config('    requires: [api]\n', '999'));
    expect(await up.cli('reload')).toMatchObject({
      code: 0,
      stdout: 'unchanged: api\nfront: stopped (requires web, which is stopped)\nweb: stopped (requires api, which is stopped)\n',
      stderr: '',
    });
    expect(await up.service('web')).toMatchObject({ state: 'stopped', reason: 'stopped by a reload: it requires api, which is stopped' });
    expect(await up.service('front')).toMatchObject({ state: 'stopped', pid: null, reason: 'stopped with web: it requires web' });
    // front took its new config for its next start.
    expect(await up.cli('reload')).toMatchObject({ code: 0, stdout: 'unchanged: api, web, front\n' });
  });

  it('a reload that makes a running service require a failed one stops it and says why', async () => {
    const config = (webExtra: string): string => `services:
  api:
    command: [sh, -c, "exit 78"]
${fixtureEntry('web', webExtra)}`;
    const up = await startUp(config(''));
    await waitState(up, 'api', 'failed');
    const web = await waitState(up, 'web', 'running');
    up.writeConfig(config('    requires: [api]\n    settings: { greeting: new }\n'));
    const res = await up.cli('reload');
    expect(res).toMatchObject({ code: 0, stdout: 'unchanged: api\nweb: stopped (requires api, which is failed)\n', stderr: '' });
    expect(await up.service('web')).toMatchObject({ state: 'stopped', pid: null, reason: 'stopped by a reload: it requires api, which is failed' });
    expect((await loggedLine(up, 'service stopped', 'web')).line).toMatchObject({ child: web.pid, code: 0, killed: false });
    expect(logged(up, 'service started', 'web')).toHaveLength(1);
  });

  it('a reload that makes a failed service require a stopped one leaves it failed, says why, and records the new config for its next start', async () => {
    const config = (webExtra: string): string => `services:
  api:
    command: [sleep, "1000"]
${fixtureEntry('web', webExtra)}`;
    const up = await startUp(config('    settings: { configError: true }\n'));
    await waitState(up, 'api', 'running');
    const failed = await waitState(up, 'web', 'failed');
    expect((await up.cli('stop', 'api')).code).toBe(0);

    // A changed config restarts a failed service; not without what it now requires.
    up.writeConfig(config('    requires: [api]\n    settings: { greeting: new }\n'));
    const stays = { code: 0, stdout: 'unchanged: api\nweb: still failed (requires api, which is stopped)\n', stderr: '' };
    expect(await up.cli('reload')).toMatchObject(stays);
    const kept = `kept failed by a reload: it requires api, which is stopped (its failure: ${failed.reason})`;
    expect(await up.service('web')).toMatchObject({ state: 'failed', pid: null, reason: kept, requires: ['api'] });
    expect(logged(up, 'service started', 'web')).toHaveLength(1);
    expect(await up.request({ verb: 'settings', name: 'web' })).toMatchObject({ settings: { greeting: 'new', configError: false } });
    // Its settings alone changed again: the same.
    up.writeConfig(config('    requires: [api]\n    settings: { greeting: newer }\n'));
    expect(await up.cli('reload')).toMatchObject(stays);
    expect(await up.service('web')).toMatchObject({ state: 'failed', pid: null, reason: kept });

    // hearth start web starts api first, then web with its new config.
    const started = await up.cli('start', 'web');
    expect(started).toMatchObject({ code: 0, stderr: '' });
    expect(started.stdout).toMatch(/^api: running \(pid \d+\) \(required by web\)\nweb: running \(pid \d+\)\n$/);
    const now = await up.service('web');
    expect(await connectAndReadLine(now.listeners[0]!.port)).toBe(`newer ${now.pid}`);
    expect(await up.cli('reload')).toMatchObject({ code: 0, stdout: 'unchanged: api, web\n' });
  });

  it('a reload leaves failed a failed service whose requirement is failed too, its reason saying why now; a requirement restarted by the same reload has its turn first', async () => {
    const config = (apiSettings: string, webSettings: string): string => `services:
${fixtureEntry('api', `    settings: ${apiSettings}\n`)}${fixtureEntry('web', `    requires: [api]\n    settings: ${webSettings}\n`)}`;
    // web does not require api yet: both start, and both fail.
    const up = await startUp(`services:\n${fixtureEntry('api', '    settings: { configError: true }\n')}${fixtureEntry('web', '    settings: { configError: true }\n')}`);
    await waitState(up, 'api', 'failed');
    const failed = await waitState(up, 'web', 'failed');
    const kept = `kept failed by a reload: it requires api, which is failed (its failure: ${failed.reason})`;

    // web's change would restart it; api, unchanged, stays failed.
    up.writeConfig(config('{ configError: true }', '{ greeting: new }'));
    expect(await up.cli('reload')).toMatchObject({ code: 0, stdout: 'unchanged: api\nweb: still failed (requires api, which is failed)\n', stderr: '' });
    expect(await up.service('web')).toMatchObject({ state: 'failed', pid: null, reason: kept, requires: ['api'] });
    expect(logged(up, 'service started', 'web')).toHaveLength(1);

    // Both changed, api still broken: its restart comes first and fails, and web stays failed.
    up.writeConfig(config('{ configError: true, greeting: still }', '{ greeting: newer }'));
    expect(await up.cli('reload')).toMatchObject({ code: 1, stdout: 'web: still failed (requires api, which is failed)\n', stderr: 'hearth reload: api: fixture: configError is set\n' });
    expect(await up.service('web')).toMatchObject({ state: 'failed', reason: kept });
    expect(logged(up, 'service started', 'web')).toHaveLength(1);

    // api mended: restarted first, then web, which runs its newest config.
    up.writeConfig(config('{ greeting: fixed }', '{ greeting: newest }'));
    expect(await up.cli('reload')).toMatchObject({ code: 0, stdout: 'restarted: api, web\n', stderr: '' });
    const web = await up.service('web');
    expect(web).toMatchObject({ state: 'running', reason: null });
    expect(await connectAndReadLine(web.listeners[0]!.port)).toBe(`newest ${web.pid}`);
  });

  it('sends new settings to a service that is starting once it runs (in place, else a restart); one exited takes them at its next start', async () => {
    const config = (greeting: string): string => `services:
${fixtureEntry('slow', `    settings: { readyDelay: 3s, greeting: ${greeting} }\n`)}${fixtureEntry('stubborn', `    settings: { readyDelay: 3s, refuseReload: true, greeting: ${greeting} }\n`)}${fixtureEntry('once', `    restart: never\n    settings: { crashAfter: 10ms, exitCode: 0, greeting: ${greeting} }\n`)}`;
    const up = await startUp(config('one'));
    await waitFor(() => logged(up, 'service exited', 'once').length > 0, { what: 'once to exit' });
    expect(await up.service('slow')).toMatchObject({ state: 'starting' });
    expect(await up.service('stubborn')).toMatchObject({ state: 'starting' });
    up.writeConfig(config('two'));
    const res = await up.cli('reload');
    expect(res).toMatchObject({ code: 0, stdout: 'restarted: stubborn; reloaded in place: slow; updated, from its next start: once\n', stderr: '' });
    // slow took them in place once ready: the instance that was starting answers with them.
    const slow = await up.service('slow');
    expect(slow).toMatchObject({ state: 'running', restarts: 0 });
    expect(logged(up, 'service started', 'slow')).toMatchObject([{ child: slow.pid }]);
    expect(await connectAndReadLine(slow.listeners[0]!.port)).toBe(`two ${slow.pid}`);
    // stubborn refused them in place, once ready: restarted overlapped with them.
    const stubborn = await up.service('stubborn');
    expect(stubborn).toMatchObject({ state: 'running', restarts: 1 });
    expect(logged(up, 'new instance started (overlapped restart)', 'stubborn')).toMatchObject([{ child: stubborn.pid }]);
    expect(await connectAndReadLine(stubborn.listeners[0]!.port)).toBe(`two ${stubborn.pid}`);
    expect(await up.request({ verb: 'settings', name: 'once' })).toMatchObject({ settings: { greeting: 'two' } });
    expect(await up.cli('reload')).toMatchObject({ code: 0, stdout: 'unchanged: slow, stubborn, once\n', stderr: '' });
  });

  it('restarts a failed service whose config changed, settings alone included (the usual fix for a crash loop); one that fails again is reported', async () => {
    const config = (bad: string, loop: string): string => `services:
${fixtureEntry('bad', `    settings: ${bad}
`)}  loop:
    command: ${loop}
    backoff: { initial: 10ms }
    crashLoop: { failures: 3, window: 30s }
`;
    const up = await startUp(config('{ configError: true }', '[sh, -c, "exit 2"]'));
    await waitState(up, 'bad', 'failed');
    await waitState(up, 'loop', 'failed');

    up.writeConfig(config('{ configError: true, greeting: still }', '[sh, -c, "exit 2"]'));
    const again = await up.cli('reload');
    expect(again).toMatchObject({ code: 1, stdout: 'unchanged: loop\n', stderr: 'hearth reload: bad: fixture: configError is set\n' });
    expect(await up.service('bad')).toMatchObject({ state: 'failed', restarts: 1, lastExit: { code: 78 } });

    up.writeConfig(config('{ greeting: fixed }', '[sleep, "1000"]'));
    const fixed = await up.cli('reload');
    expect(fixed).toMatchObject({ code: 0, stdout: 'restarted: bad, loop\n', stderr: '' });
    const bad = await up.service('bad');
    expect(bad).toMatchObject({ state: 'running', reason: null });
    expect(await connectAndReadLine(bad.listeners[0]!.port)).toBe(`fixed ${bad.pid}`);
    expect(await up.service('loop')).toMatchObject({ state: 'running', reason: null });
  });
});
