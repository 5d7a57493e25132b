/**
 * Signal hygiene under `hearth up`: SIGUSR1 and SIGUSR2 sent to the process group of biff, smtp and
 * pop3 (each leads its own) leave every service running, same pid, no restart, no inspector on
 * 127.0.0.1:9229, and biff still delivers notifications afterwards.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BIFF_MODULE,
  INSPECTOR_LINE,
  WATCHER_MODULE,
  alive,
  pidsListeningOn,
  sendDatagram,
} from '@hearth/testkit/suite';
import { suitePerTest } from './suite-per-test.js';

const startSuite = suitePerTest();

/** The process group of `pid`, from /proc (field 5 of stat, after the parenthesised name). */
function pgidOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

describe('stray SIGUSR1 / SIGUSR2', () => {
  it('sent to each service\'s process group: every service keeps running with no inspector port', async () => {
    const s = await startSuite(`services:
  biff:
    module: ${JSON.stringify(BIFF_MODULE)}
    listen: { comsat: { protocol: udp, port: 0 } }
  smtp:
    service: smtp
    listen: { mx: { port: 0 } }
  pop3:
    service: pop3
    listen: { pop3: { port: 0 } }
  watch:
    module: ${JSON.stringify(WATCHER_MODULE)}
    settings: { users: [alice] }
    requires: [biff]
`);
    const before = await s.status();
    const targets = before.filter((r) => ['biff', 'smtp', 'pop3'].includes(r.name)).map((r) => ({ ...r, pid: r.pid! }));
    expect(targets).toHaveLength(3);
    for (const t of targets) {
      expect(t.state, t.name).toBe('running');
      expect(pgidOf(t.pid), `${t.name} leads its own group`).toBe(t.pid);
    }
    await s.waitLog('watch', /^subscribed$/, 30_000);

    for (const sig of ['SIGUSR1', 'SIGUSR2'] as const) {
      for (const t of targets) process.kill(-t.pid, sig);
    }
    // Each service logs the signals it ignored: wait for all six lines.
    const ignored = () =>
      targets.every((t: { name: string }) =>
        ['SIGUSR1', 'SIGUSR2'].every((sig) => s.logsOf(t.name).some((l: Record<string, unknown>) => l['msg'] === 'signal ignored' && l['signal'] === sig)),
      );
    await expect.poll(ignored, { timeout: 5000 }).toBe(true);
    // biff still works, and a notification through the supervisor, biff and the watcher after the
    // signals proves they have handled them: an inspector would have started by now.
    const after = await s.status();
    const comsat = after.find((r: { name: string }) => r.name === 'biff')!.listeners[0]!.port;
    await sendDatagram(comsat, 'alice@0\0');
    expect(await s.waitLog('watch', /^new mail$/)).toMatchObject({ user: 'alice', source: 'comsat' });

    for (const t of targets) {
      const now = after.find((r: { name: string }) => r.name === t.name);
      expect(now, t.name).toMatchObject({ state: 'running', pid: t.pid, restarts: 0 });
      expect(alive(t.pid), t.name).toBe(true);
    }
    expect(pidsListeningOn([s.pid, ...after.flatMap((r) => (r.pid === null ? [] : [r.pid]))])).toEqual([]);
    expect(s.lines.filter((l: Record<string, unknown>) => INSPECTOR_LINE.test(String(l['msg'] ?? '')))).toEqual([]);
  });
});
