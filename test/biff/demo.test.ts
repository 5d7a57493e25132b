/**
 * The SIGUSR1 reproduction (issue 6, item 5), the same logic as `node demo/sigusr1/run.mjs`:
 * (a) legacy: one process group and a `kill(0, SIGUSR1)` notifier: after one delivery the plain
 *     daemon is dead by SIGUSR1 and the plain Node siblings opened or raced for the inspector;
 * (b) Hearth: the same delivery leaves every service alive, no inspector open, and the push
 *     reaches alice's waiting POP3 session.
 * `hearth up` runs detached (its own group), so the legacy signal never reaches this runner.
 */
import { describe, expect, it } from 'vitest';
import { runHearth, runLegacy } from '../../demo/sigusr1/scenario.mjs';

describe('SIGUSR1 demo', () => {
  it('(a) legacy arrangement: the non-Node sibling dies by SIGUSR1, plain Node siblings open or race for 9229', async () => {
    const a = await runLegacy();
    expect(a.daemon).toMatchObject({ alive: false, signal: 'SIGUSR1' });
    // Every plain Node sibling tried to start its inspector: one won 127.0.0.1:9229 (unless
    // something else on this host holds the port), the others lost the race.
    for (const n of a.plainNode) {
      expect(n.alive, n.name).toBe(true);
      expect(n.line, n.name).toMatch(/Debugger listening on ws:\/\/127\.0\.0\.1:9229|Starting inspector on 127\.0\.0\.1:9229 failed/);
    }
    const winners = a.plainNode.filter((n: { opened: boolean }) => n.opened).map((n: { name: string }) => n.name);
    expect(winners.length).toBeLessThanOrEqual(1);
    expect(a.inspectorHolders).toEqual(winners);
    // Hearth's own service and the supervisor were in the group too, and shrugged it off.
    expect(a.fixture).toMatchObject({ alive: true, samePid: true, state: 'running' });
    expect(a.supervisor).toEqual({ alive: true, ignoredSignal: true });
  });

  it('(b) Hearth arrangement: every service alive, no inspector, the push reaches the waiting POP3 session', async () => {
    const b = await runHearth();
    for (const s of b.services) expect(s, s.name).toMatchObject({ alive: true, samePid: true, state: 'running' });
    expect(b.services.map((s: { name: string }) => s.name).sort()).toEqual(['biff', 'daemon', 'fixture', 'node-a', 'node-b', 'pop3']);
    expect(b.inspectorHolders).toEqual([]);
    expect(b.inspectorLines).toEqual([]);
    expect(b.push).toBe(`* NEW 1 ${b.delivered.uidl} ${b.delivered.size}`);
  });
});
