/** `legacy.sharedProcessGroup`: children in the supervisor's group (for demonstrations), and not by default. */
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURE_SERVICE_PATH, waitFor } from '@hearth/testkit';
import { alive, logged, processGroup, startUp, stopAll, waitState } from '@hearth/testkit/hearth-up';

afterEach(stopAll);

const services = `services:
  cmd:
    command: [sleep, "1000"]
  fix:
    module: ${FIXTURE_SERVICE_PATH}
    listen: { main: { port: 0 } }
`;

describe('process groups', () => {
  it('by default every child leads its own group, apart from the supervisor', async () => {
    // startUp's supervisor leads a group of its own, so "same group as the supervisor" means its pid.
    const up = await startUp(services);
    const supervisor = up.proc.pid!;
    for (const name of ['cmd', 'fix']) {
      const s = await waitState(up, name, 'running');
      expect(processGroup(s.pid!)).toBe(s.pid);
      expect(processGroup(s.pid!)).not.toBe(supervisor);
    }
    expect(logged(up, 'LEGACY MODE')).toHaveLength(0);
    expect(up.lines.some((l) => String(l['msg']).startsWith('LEGACY MODE'))).toBe(false);
    expect(await up.stop()).toBe(0);
  });

  it('with legacy.sharedProcessGroup every child shares the supervisor group, with a loud warning; stop still works', async () => {
    const up = await startUp(`legacy: { sharedProcessGroup: true }\n${services}`);
    const supervisor = up.proc.pid!;
    expect(processGroup(supervisor)).toBe(supervisor);
    const pids: number[] = [];
    for (const name of ['cmd', 'fix']) {
      const s = await waitState(up, name, 'running');
      expect(s.pid).not.toBe(supervisor);
      expect(processGroup(s.pid!)).toBe(supervisor);
      pids.push(s.pid!);
    }
    await waitFor(() => up.lines.find((l) => String(l['msg']).startsWith('LEGACY MODE') && l['level'] === 40), { what: 'the warning' });
    // The warm standby too; it is stopped with the rest.
    const standby = await waitFor(async () => (await up.service('fix')).standbyPid, { timeout: 20_000, what: 'the standby' });
    expect(processGroup(standby)).toBe(supervisor);
    // A restart and a stop signal the child by pid (it has no group of its own).
    const res = await up.cli('restart', 'cmd');
    expect(res.code).toBe(0);
    const after = await waitState(up, 'cmd', 'running');
    expect(after.pid).not.toBe(pids[0]);
    expect(processGroup(after.pid!)).toBe(supervisor);
    expect(await up.stop()).toBe(0);
    expect(alive(standby)).toBe(false);
  });
});
