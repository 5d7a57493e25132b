/**
 * A subscriber that never reads: a watcher subscribed to `stuck` blocks its event loop while biff
 * is flooded with notifications for `stuck`. biff's memory stays within a bound (its queues are
 * bounded, and the supervisor, which bounds what it queues for each child, keeps reading biff's
 * channel), biff accounts for every datagram, and keeps serving another subscriber meanwhile.
 *
 * The flood is measured by what reached biff (its `received` counter), not by what was sent: the
 * kernel drops datagrams when biff's socket buffer is full, two thirds of them in a loaded run.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BIFF_MODULE, WATCHER_MODULE, poll, sendDatagram } from '@hearth/testkit/suite';
import { suitePerTest } from './suite-per-test.js';

const startSuite = suitePerTest();

/** Resident set size of `pid` in bytes. */
function rss(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

/** Datagrams for `stuck` that reach biff in each half of the flood. */
const HALF = 20_000;
const BATCH = 250;
/** At most this many datagrams are sent in all, whatever the kernel drops. */
const MAX_SENT = 200_000;
const MB = 1024 * 1024;

describe('a subscriber that never reads', () => {
  it('does not grow biff past its bound; others are still served', async () => {
    const s = await startSuite(`services:
  biff:
    module: ${JSON.stringify(BIFF_MODULE)}
    listen: { comsat: { protocol: udp, port: 0 } }
    # V8 grows a busy process's young generation up to 16 MiB a semi-space, by steps, whenever it
    # likes: 5-10 MB of biff's RSS in one half or the other. Held at 1 MiB (as the supervisor
    # holds its own), RSS follows what biff keeps.
    env: { NODE_OPTIONS: "--max-semi-space-size=1" }
    settings:
      comsat: { rate: { perSecond: 1000000, burst: 1000000 }, perSource: { perSecond: 1000000, burst: 1000000 } }
      queue: { perSubscriber: 100 }
  stuck:
    module: ${JSON.stringify(WATCHER_MODULE)}
    settings: { users: [stuck], stall: 60s }
    requires: [biff]
    stopTimeout: 500ms
  watch:
    module: ${JSON.stringify(WATCHER_MODULE)}
    settings: { users: [alice] }
    requires: [biff]
`);
    const rows = await s.status();
    const biff = rows.find((r: { name: string }) => r.name === 'biff')!;
    const biffPid = biff.pid!;
    const comsat = biff.listeners[0]!.port;
    // Wide bounds: module services start slowly on a loaded machine.
    await s.waitLog('stuck', /^stalling/, 30_000);
    await s.waitLog('watch', /^subscribed$/, 30_000);

    // biff has handled every datagram sent before one for alice once her watcher logs it (datagrams
    // on loopback arrive in order). The flood may fill biff's socket buffer, and the kernel drops
    // datagrams then: the marker is sent again until one gets through.
    const seenByAlice = (): number => s.logsOf('watch').filter((l: Record<string, unknown>) => l['msg'] === 'new mail').length;
    const settled = async (): Promise<void> => {
      const before = seenByAlice();
      for (let i = 0; i < 20; i++) {
        await sendDatagram(comsat, 'alice@1\0');
        if (await poll(() => seenByAlice() > before, 500)) return;
      }
      throw new Error('biff passed on none of 20 notifications for alice');
    };

    // Warm up (code paths compiled, buffers allocated), then measure.
    for (let i = 0; i < 2000; i++) await sendDatagram(comsat, 'stuck@1\0');
    await settled();
    const base = { biff: rss(biffPid), supervisor: rss(s.pid) };

    // biff reports its counters to the supervisor once a second when they changed; status shows
    // the last report, so each half may overshoot by a second of datagrams.
    const received = async (): Promise<number> =>
      (await s.service('biff'))?.counters?.find((c) => c.name === 'received')?.value ?? 0;
    let sent = 0;
    const flood = async (): Promise<void> => {
      const target = (await received()) + HALF;
      while ((await received()) < target) {
        if (sent >= MAX_SENT) throw new Error(`biff received ${await received()} of ${sent} datagrams sent; wanted ${target}`);
        await Promise.all(Array.from({ length: BATCH }, () => sendDatagram(comsat, 'stuck@1\0')));
        sent += BATCH;
      }
    };
    await flood();
    await settled();
    const half = { biff: rss(biffPid), supervisor: rss(s.pid) };
    await flood();
    // Another subscriber is still served.
    await settled();
    expect(s.logsOf('watch').find((l: Record<string, unknown>) => l['msg'] === 'new mail')).toMatchObject({ user: 'alice' });
    const end = { biff: rss(biffPid), supervisor: rss(s.pid) };
    const mb = (n: number): string => `${(n / MB).toFixed(1)} MB`;
    // V8 grows its old generation by steps during any busy run (up to 6 MB of biff's in one half,
    // measured); what matters is that the second half, another 20,000 notifications the
    // subscriber never reads, adds little: an unbounded queue anywhere on the path would hold all
    // of them as pending IPC writes, 1-1.5 KB each (the supervisor without its per-child bound
    // grew 20-30 MB in each half, measured).
    for (const who of ['biff', 'supervisor'] as const) {
      expect(end[who] - base[who], `${who} grew ${mb(end[who] - base[who])} over the flood`).toBeLessThan(32 * MB);
      expect(end[who] - half[who], `${who} grew ${mb(end[who] - half[who])} over the second half`).toBeLessThan(12 * MB);
    }
    expect((await s.service('biff'))?.pid).toBe(biffPid);

    await s.stop();
    const stopped = s.logsOf('biff').find((l: Record<string, unknown>) => l['msg'] === 'biff stopped') as Record<string, number>;
    expect(stopped).toBeDefined();
    // Every datagram that arrived is accounted for: each became one notification, sent or dropped.
    expect(stopped['received']).toBeGreaterThanOrEqual(2 * HALF);
    expect(stopped['notified']! + stopped['dropped']! + stopped['unwatched']!).toBe(stopped['received']);
    // What waited inside biff never passed the per-subscriber bound (100 here) for each of the two
    // subscribers: 100 for `stuck` and alice's marker may wait at the same moment.
    expect(stopped['peakQueued']).toBeLessThanOrEqual(2 * 100);
  });
});
