/**
 * Warm standby: a Hearth service keeps one loaded instance that holds the listeners without
 * serving; after a kill -9 of the running instance it is promoted at once, and a new standby
 * follows. Restarts and settings reloads replace it; `standby: false` keeps none; a killed
 * supervisor leaves none behind.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connectAndReadLine, waitFor } from '@hearth/testkit';
import type { ServiceStatus } from '@hearth/supervisor';
import { childrenOf, fixture, stat, startUp, stopAll, waitRunning } from './helpers.js';
import type { Up } from './helpers.js';

afterEach(stopAll);

/** A live process (not a zombie). */
const alive = (pid: number): boolean => {
  const f = stat(pid);
  return f !== undefined && f[0] !== 'Z' && f[0] !== 'X';
};

/** Waits until `name` runs with a standby standing by whose pid is none of `not`. */
function waitStandby(up: Up, name: string, not: readonly number[] = []): Promise<ServiceStatus & { pid: number; standbyPid: number }> {
  return waitFor(
    async () => {
      const s = await up.service(name);
      if (s.state !== 'running' || s.pid === null || s.standbyPid === null || not.includes(s.standbyPid)) return undefined;
      return s as ServiceStatus & { pid: number; standbyPid: number };
    },
    { timeout: 20_000, interval: 25, what: `${name} with a new standby` },
  );
}

describe('warm standby', () => {
  it('kill -9 of the running instance: the standby takes over, a connection made meanwhile is answered, a new standby follows', async () => {
    // readyDelay holds every start before it listens: the connection below waits in the backlog.
    const up = await startUp(`services:\n${fixture('fix', '    settings: { readyDelay: 300ms }\n')}`);
    const before = await waitStandby(up, 'fix');
    expect(before.standbyPid).not.toBe(before.pid);
    expect(alive(before.standbyPid)).toBe(true);
    const port = before.listeners[0]!.port;

    process.kill(before.pid, 'SIGKILL');
    const line = await connectAndReadLine(port, '127.0.0.1', 10_000);
    expect(line).toBe(`hello ${before.standbyPid}`);

    const after = await waitStandby(up, 'fix', [before.pid, before.standbyPid]);
    expect(after.pid).toBe(before.standbyPid);
    expect(after.restarts).toBe(1);
    expect(after.lastExit).toMatchObject({ signal: 'SIGKILL' });
    expect(after.standbyPid).not.toBe(after.pid);
    expect(await connectAndReadLine(port)).toBe(`hello ${after.pid}`);
    // The supervisor's log line comes through its output, the state through its control socket: either may be first.
    await waitFor(() => up.lines.some((l) => l['msg'] === 'standby promoted' && l['child'] === before.standbyPid), { what: 'the promotion logged' });
  });

  it('hearth restart runs a fresh process, not the old standby, and then gets a new standby', async () => {
    const up = await startUp(`services:\n${fixture('fix')}`);
    const before = await waitStandby(up, 'fix');
    const res = await up.cli('restart', 'fix');
    expect(res.code).toBe(0);
    const after = await waitStandby(up, 'fix', [before.pid, before.standbyPid]);
    expect([before.pid, before.standbyPid]).not.toContain(after.pid);
    expect(after.standbyPid).not.toBe(after.pid);
    await waitFor(() => !alive(before.standbyPid) && !alive(before.pid), { timeout: 10_000, what: 'the old instance and standby gone' });
    expect(await connectAndReadLine(after.listeners[0]!.port)).toBe(`hello ${after.pid}`);
  });

  it('a reload with new settings replaces the standby: the next promoted instance answers with them', async () => {
    const up = await startUp(`services:\n${fixture('fix', '    settings: { greeting: one }\n')}`);
    const before = await waitStandby(up, 'fix');
    up.writeConfig(`services:\n${fixture('fix', '    settings: { greeting: two }\n')}`);
    const res = await up.cli('reload');
    expect(res.code).toBe(0);
    const port = before.listeners[0]!.port;
    expect(await connectAndReadLine(port)).toBe(`two ${before.pid}`); // applied in place
    const fresh = await waitStandby(up, 'fix', [before.standbyPid]);
    expect(fresh.pid).toBe(before.pid);
    process.kill(fresh.pid, 'SIGKILL');
    expect(await connectAndReadLine(port, '127.0.0.1', 10_000)).toBe(`two ${fresh.standbyPid}`);
    await waitFor(() => !alive(before.standbyPid), { timeout: 10_000, what: 'the outdated standby gone' });
  });

  it('standby: false keeps none (a crash is a cold start); turning it off by reload drops the standby and nothing else', async () => {
    const up = await startUp(`services:\n${fixture('cold', '    standby: false\n')}${fixture('warm')}`);
    const warm = await waitStandby(up, 'warm');
    const cold = await waitRunning(up, 'cold');
    expect(cold.standbyPid).toBeNull();
    // The supervisor's children: both services, warm's standby and the lifeline, nothing more.
    const kids = childrenOf(up.proc.pid!).map((c) => c.pid);
    expect(kids).toHaveLength(4);
    expect(kids).toEqual(expect.arrayContaining([cold.pid, warm.pid, warm.standbyPid]));

    process.kill(cold.pid!, 'SIGKILL');
    const line = await connectAndReadLine(cold.listeners[0]!.port, '127.0.0.1', 10_000);
    const again = await waitRunning(up, 'cold');
    expect(line).toBe(`hello ${again.pid}`);
    expect(again.pid).not.toBe(cold.pid);
    expect(again.standbyPid).toBeNull();

    up.writeConfig(`services:\n${fixture('cold', '    standby: false\n')}${fixture('warm', '    standby: false\n')}`);
    const res = await up.request({ verb: 'reload' });
    expect(res).toMatchObject({ unchanged: ['cold', 'warm'], restarted: [] });
    await waitFor(() => !alive(warm.standbyPid), { timeout: 10_000, what: 'the standby gone' });
    expect(await up.service('warm')).toMatchObject({ state: 'running', pid: warm.pid, standbyPid: null });
  });

  it('a supervisor killed with SIGKILL leaves no standby (nor any instance) behind', async () => {
    const up = await startUp(`services:\n${fixture('fix')}`);
    const s = await waitStandby(up, 'fix');
    up.proc.kill('SIGKILL');
    await waitFor(() => !alive(s.standbyPid) && !alive(s.pid), { timeout: 15_000, what: 'every child gone' });
  });
});
