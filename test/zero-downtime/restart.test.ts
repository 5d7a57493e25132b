/** Overlapped restart under load: no connection refused, reset or left without its reply. */
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectAndReadLine, freePort, startLoad } from '@hearth/testkit';
import { writeFlakyModule } from './flaky-module.js';
import { FIXTURE_SERVICE_PATH, fixture, listeningInode, startUp, stopAll, waitRunning } from './helpers.js';

/** What a connection to 127.0.0.1:port meets: 'accepted', or the error's code (ECONNREFUSED). */
function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('accepted');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

afterEach(stopAll);

describe('hearth restart (overlapped)', () => {
  it('20 restarts under a load of short connections: 0 refused, 0 reset, 0 lost', async () => {
    const up = await startUp(`services:\n${fixture('fix')}`);
    const first = await waitRunning(up, 'fix');
    const port = first.listeners[0]!.port;
    const load = startLoad({ port, loops: 6, check: (l) => /^hello \d+$/.test(l) });
    const pids = new Set<number>([first.pid!]);
    for (let i = 0; i < 20; i++) {
      const s = (await up.request({ verb: 'restart', name: 'fix' })) as { pid: number; state: string };
      expect(s.state).toBe('running');
      pids.add(s.pid);
    }
    const result = await load.stop();
    expect(result.errors).toEqual([]);
    expect(result.failed).toBe(0);
    expect(result.total).toBeGreaterThan(100);
    expect(pids.size).toBe(21);
    // Replies came from several instances, not one.
    const answered = new Set(result.samples.map((s) => s.line));
    expect(answered.size).toBeGreaterThan(5);
    expect((await up.service('fix')).restarts).toBe(20);
  });

  it('a new instance that fails to become ready is stopped; the old one keeps serving; the command fails in one line', async () => {
    const up = await startUp('services: {}\n');
    const flaky = writeFlakyModule(up.dir.path);
    up.writeConfig(`services:\n  fix:\n    module: ${flaky.module}\n    listen: { main: { port: 0 } }\n`);
    expect((await up.cli('reload')).code).toBe(0);
    const before = await waitRunning(up, 'fix');
    writeFileSync(flaky.flag, '');
    const load = startLoad({ port: before.listeners[0]!.port, loops: 4 });
    const res = await up.cli('restart', 'fix');
    const result = await load.stop();
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/^hearth restart: fix: the new instance did not become ready \(.*fail-start.*\); the old instance \(pid \d+\) keeps serving/);
    const after = await up.service('fix');
    expect(after).toMatchObject({ state: 'running', pid: before.pid });
    expect(await connectAndReadLine(before.listeners[0]!.port)).toBe(`hello ${before.pid}`);
    expect(result.failed).toBe(0);
  });

  it('restart --all replaces every service in dependency order, losing nothing', async () => {
    const up = await startUp(`services:\n${fixture('a', '    requires: [b]\n')}${fixture('b')}  cmd:\n    command: [sleep, "1000"]\n`);
    const a = await waitRunning(up, 'a');
    const b = await waitRunning(up, 'b');
    const cmd = await waitRunning(up, 'cmd');
    const loads = [startLoad({ port: a.listeners[0]!.port, loops: 3 }), startLoad({ port: b.listeners[0]!.port, loops: 3 })];
    const res = await up.cli('restart', '--all');
    expect(res.code).toBe(0);
    expect(res.stdout.trim()).toBe('restarted: b, a, cmd');
    for (const l of loads) expect((await l.stop()).failed).toBe(0);
    for (const [name, old] of [['a', a], ['b', b], ['cmd', cmd]] as const) {
      const s = await up.service(name);
      expect(s.state).toBe('running');
      expect(s.pid).not.toBe(old.pid);
    }
  });
});

describe('hearth stop and start', () => {
  it('stop closes the service\'s listening socket (connections refused, not left waiting); start and restart bind it again', async () => {
    const port = await freePort();
    const up = await startUp(`services:\n  fix:\n    module: ${FIXTURE_SERVICE_PATH}\n    listen: { main: { port: ${port} } }\n    stopTimeout: 3s\n`);
    const first = await waitRunning(up, 'fix');
    expect(await connectAndReadLine(port)).toBe(`hello ${first.pid}`);
    for (const again of ['start', 'restart'] as const) {
      const stopped = await up.cli('stop', 'fix');
      expect(stopped.code).toBe(0);
      expect((await up.service('fix')).state).toBe('stopped');
      expect(listeningInode(port)).toBeUndefined();
      expect(await connectOutcome(port)).toBe('ECONNREFUSED');
      const started = await up.cli(again, 'fix');
      expect(started.code).toBe(0);
      const running = await waitRunning(up, 'fix');
      expect(listeningInode(port)).toBeDefined();
      expect(await connectAndReadLine(port)).toBe(`hello ${running.pid}`);
    }
  });
});
