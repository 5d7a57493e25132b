/** hearth reload and SIGHUP: apply the config difference without losing a connection. */
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { connectAndReadLine, startLoad, waitFor } from '@hearth/testkit';
import { writeFlakyModule } from './flaky-module.js';
import { FIXTURE_SERVICE_PATH, fixture, startUp, stopAll, waitRunning } from './helpers.js';

afterEach(stopAll);

describe('hearth reload', () => {
  it('a settings change is applied in place under load: same pid, new replies, nothing lost', async () => {
    const up = await startUp(`services:\n${fixture('fix', '    settings: { greeting: one }\n')}`);
    const before = await waitRunning(up, 'fix');
    const port = before.listeners[0]!.port;
    const load = startLoad({ port, loops: 6, check: (l) => /^(one|two) \d+$/.test(l) });
    await waitFor(() => load.total > 50);
    up.writeConfig(`services:\n${fixture('fix', '    settings: { greeting: two }\n')}`);
    const res = await up.cli('reload');
    expect(res.stderr).toBe('');
    expect(res.stdout.trim()).toBe('reloaded in place: fix');
    expect(res.code).toBe(0);
    await waitFor(() => load.total > 200);
    const result = await load.stop();
    expect(result.errors).toEqual([]);
    expect(await connectAndReadLine(port)).toBe(`two ${before.pid}`);
    expect((await up.service('fix')).pid).toBe(before.pid);
    expect(result.samples.some((s) => s.line?.startsWith('one'))).toBe(true);
    expect(result.samples.some((s) => s.line?.startsWith('two'))).toBe(true);
  });

  it('an invalid config is refused with every problem (file:line), nothing changes and nothing is lost', async () => {
    const yaml = `services:\n${fixture('fix')}`;
    const up = await startUp(yaml);
    const before = await waitRunning(up, 'fix');
    const load = startLoad({ port: before.listeners[0]!.port, loops: 6 });
    up.writeConfig(`${yaml}    settings: { greting: typo }\n  other:\n    command: [sleep, "1"]\n    restrat: always\n`);
    const res = await up.cli('reload');
    expect(res.code).toBe(1);
    // Every problem, one a line, as hearth up prints them: not the first alone.
    const lines = res.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('hearth reload: refused, nothing changed:');
    expect(lines[1]).toMatch(/hearth\.yaml:\d+:\d+: services\.fix\.settings\.greting: .*did you mean "greeting"/);
    expect(lines[2]).toMatch(/hearth\.yaml:\d+:\d+: services\.other\.restrat: unknown key "restrat" \(did you mean "restart"\?\)/);
    expect(lines).toHaveLength(3);
    const refusals = () => up.lines.filter((l) => /^reload (refused|failed)/.test(String(l['msg'])));
    const before2 = refusals().length;
    up.proc.kill('SIGHUP');
    await waitFor(() => refusals().length > before2, { what: 'the refusal' });
    expect(refusals().at(-1)).toMatchObject({ msg: 'reload refused: invalid config; nothing changed' });
    const result = await load.stop();
    // One line for a SIGHUP refused, not a second one repeating it.
    expect(refusals().length).toBe(before2 + 1);
    expect(result.failed).toBe(0);
    const after = await up.service('fix');
    expect(after).toMatchObject({ state: 'running', pid: before.pid, restarts: 0 });
  });

  it('a new log.level is not applied by a reload: it says so and leaves the services alone', async () => {
    const yaml = `services:\n${fixture('fix')}`;
    const up = await startUp(yaml);
    const before = await waitRunning(up, 'fix');
    up.writeConfig(`log: { level: debug }\n${yaml}`);
    const res = await up.cli('reload');
    expect(res.stdout.trim()).toBe('unchanged: fix');
    expect(res.code).toBe(0);
    // The supervisor's log line may reach the test after the CLI's answer: waited for.
    const warning = await waitFor(() => up.lines.find((l) => l['msg'] === 'reload: a new log.level takes effect only at the next hearth up'), { what: 'the log.level warning' });
    expect(warning).toMatchObject({ level: 40, logLevel: 'debug', running: 'info' });
    expect(await up.service('fix')).toMatchObject({ state: 'running', pid: before.pid, restarts: 0 });
  });

  it('adds, removes, restarts changed services (rebinding a changed port) and leaves unchanged ones alone; SIGHUP does the same', async () => {
    const up = await startUp(`services:\n${fixture('keep')}${fixture('gone')}${fixture('moved')}`);
    const keep = await waitRunning(up, 'keep');
    const gone = await waitRunning(up, 'gone');
    const moved = await waitRunning(up, 'moved');
    const oldPort = moved.listeners[0]!.port;
    const movedNext = `  moved:\n    module: ${FIXTURE_SERVICE_PATH}\n    listen: { main: { port: 0 }, second: { port: 0 } }\n    env: { CHANGED: "1" }\n`;
    up.writeConfig(`services:\n${fixture('keep')}${movedNext}${fixture('added')}`);
    const load = startLoad({ port: keep.listeners[0]!.port, loops: 3 });
    const res = await up.cli('reload');
    expect(res.stderr).toBe('');
    expect(res.stdout.trim()).toBe('added: added; removed: gone; restarted: moved; unchanged: keep');
    expect((await load.stop()).failed).toBe(0);
    expect((await up.service('keep')).pid).toBe(keep.pid);
    await expect(up.service('gone')).rejects.toThrow(/no status for gone/);
    await expect(connectAndReadLine(gone.listeners[0]!.port, '127.0.0.1', 1000)).rejects.toThrow(/ECONNREFUSED/);
    const m = await up.service('moved');
    expect(m.pid).not.toBe(moved.pid);
    expect(m.listeners.map((l) => l.name)).toEqual(['main', 'second']);
    // Port 0 listeners are bound anew; the old socket is closed once its instance is gone.
    expect(m.listeners[0]!.port).not.toBe(oldPort);
    await waitFor(() => connectAndReadLine(oldPort, '127.0.0.1', 1000).then(() => false, (e: Error) => /ECONNREFUSED/.test(e.message)), { what: 'the old port closed' });
    for (const l of m.listeners) expect(await connectAndReadLine(l.port)).toBe(`hello ${m.pid}`);
    const added = await waitRunning(up, 'added');
    expect(await connectAndReadLine(added.listeners[0]!.port)).toBe(`hello ${added.pid}`);

    // SIGHUP: the same path.
    up.writeConfig(`services:\n${fixture('keep', '    settings: { greeting: hup }\n')}`);
    up.proc.kill('SIGHUP');
    await waitFor(async () => (await connectAndReadLine(keep.listeners[0]!.port)) === `hup ${keep.pid}`, { what: 'the reload by SIGHUP' });
    await expect(up.service('added')).rejects.toThrow(/no status for added/);
  });

  it('a fixed port kept across a change is the same socket (no rebind); a refused in-place reload falls back to an overlapped restart', async () => {
    const up = await startUp('services: {}\n');
    const flaky = writeFlakyModule(up.dir.path);
    const { freePort } = await import('@hearth/testkit');
    const port = await freePort();
    const cfg = (greeting: string) => `services:\n  fix:\n    module: ${flaky.module}\n    listen: { main: { port: ${port} } }\n    settings: { greeting: ${greeting} }\n`;
    up.writeConfig(cfg('a'));
    expect((await up.cli('reload')).code).toBe(0);
    const before = await waitRunning(up, 'fix');
    writeFileSync(flaky.refuse, '');
    const load = startLoad({ port, loops: 4 });
    up.writeConfig(cfg('b'));
    const res = await up.cli('reload');
    expect(res.stdout.trim()).toBe('restarted: fix');
    expect((await load.stop()).failed).toBe(0);
    const after = await up.service('fix');
    expect(after.pid).not.toBe(before.pid);
    expect(await connectAndReadLine(port)).toBe(`b ${after.pid}`);
  });
});
