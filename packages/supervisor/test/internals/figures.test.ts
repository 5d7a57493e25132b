/** The supervisor's counter totals per service and the figures it publishes, without processes. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '@hearth/log';
import { waitFor } from '@hearth/testkit';
import { declareCounters } from '@hearth/metrics';
import { FiguresHub, FiguresPublisher, type ServiceStatus } from '@hearth/supervisor';

const log = createLogger({ svc: 'test', level: 'silent' });
const declaration = declareCounters({
  accepted: { id: 1, type: 'counter', description: 'Connections accepted', unit: 'connections', key: true },
  open: { id: 2, type: 'gauge', description: 'Connections open', unit: 'connections', key: true },
});

function row(name: string, pid: number | null): ServiceStatus {
  return { name, type: 'service', kind: 'x', state: pid === null ? 'backoff' : 'running', pid, standbyPid: null, rssBytes: 1024, standbyRssBytes: null, restarts: 0, uptimeMs: pid === null ? null : 5, lastExit: null, reason: null, listeners: [] };
}

describe('FiguresHub', () => {
  it('keeps counters monotonic across a kill, a promoted standby and an overlap; forgets removed services', () => {
    const hub = new FiguresHub(log);
    hub.report('smtp', 10, { values: { accepted: 4, open: 2 }, declaration });
    const value = (name: string) => hub.counters('smtp').find((c) => c.name === name)!.value;
    expect([value('accepted'), value('open')]).toEqual([4, 2]);
    hub.ended('smtp', 10); // kill -9
    expect([value('accepted'), value('open')]).toEqual([4, 0]);
    hub.report('smtp', 11, { values: { accepted: 1, open: 1 }, declaration }); // the standby, promoted
    hub.report('smtp', 12, { values: { accepted: 2, open: 1 }, declaration }); // overlapped restart
    expect([value('accepted'), value('open')]).toEqual([7, 2]);
    hub.ended('smtp', 11);
    hub.report('smtp', 12, { values: { accepted: 3, open: 0 } });
    expect([value('accepted'), value('open')]).toEqual([8, 0]);
    hub.keepOnly(['pop3']);
    expect(hub.counters('smtp')).toEqual([]);
  });

  it('a removed service configured again goes on from its totals (its gauges at 0); with other counters it starts afresh', () => {
    const hub = new FiguresHub(log);
    const value = (service: string, name: string) => hub.counters(service).find((c) => c.name === name)!.value;
    hub.report('smtp', 10, { values: { accepted: 4, open: 2 }, declaration });
    hub.report('web', 20, { values: { accepted: 9, open: 1 }, declaration });
    hub.keepOnly(['pop3']); // a reload removed both, their instances still running
    hub.ended('smtp', 10);
    hub.report('smtp', 30, { values: { accepted: 1, open: 1 }, declaration });
    expect([value('smtp', 'accepted'), value('smtp', 'open')]).toEqual([5, 1]);
    const other = { ...declaration, refused: { id: 3, type: 'counter', description: 'Refused', unit: 'messages' } };
    hub.report('web', 40, { values: { accepted: 2, open: 0, refused: 0 }, declaration: other });
    expect([value('web', 'accepted'), value('web', 'open')]).toEqual([2, 0]);
  });

  it('refuses values before a declaration and malformed reports, without throwing', () => {
    const hub = new FiguresHub(log);
    hub.report('a', 1, { values: { accepted: 1 } });
    hub.report('a', 1, { values: { accepted: 1 }, declaration: { accepted: { id: 0 } } });
    hub.report('b', 1, { values: { accepted: -1 }, declaration });
    expect(hub.counters('a')).toEqual([]);
    expect(hub.counters('b').map((c) => c.value)).toEqual([0, 0]);
  });

  it('makes snapshots and status rows with counters in declaration order', () => {
    const hub = new FiguresHub(log);
    hub.report('smtp', 10, { values: { accepted: 4, open: 2 }, declaration });
    const rows = hub.withCounters([row('smtp', 10), row('web', null)]);
    expect(rows[0]!.counters!.map((c) => [c.id, c.name, c.value])).toEqual([
      [1, 'accepted', 4],
      [2, 'open', 2],
    ]);
    expect(rows[1]!.counters).toEqual([]);
    const snap = hub.snapshot(rows, 123);
    expect(snap.at).toBe(123);
    expect(snap.services.map((s) => [s.name, s.state, s.pid, s.kind])).toEqual([
      ['smtp', 'running', 10, 'x'],
      ['web', 'backoff', null, 'x'],
    ]);
  });
});

describe('FiguresPublisher', () => {
  it('sends only to subscribers, and nothing (no status scan) without one', async () => {
    const got: unknown[] = [];
    let scans = 0;
    let subscribers: { send(m: { payload: unknown }): boolean }[] = [];
    const publisher = new FiguresPublisher(
      async () => {
        scans++;
        return { at: 1, services: [] };
      },
      () => subscribers,
      log,
    );
    await publisher.publish();
    expect(scans).toBe(0);
    subscribers = [{ send: (m) => got.push(m.payload) > 0 }];
    await publisher.publish();
    expect(scans).toBe(1);
    expect(got).toEqual([{ at: 1, services: [] }]);
  });
});

describe('FiguresPublisher after a change', () => {
  // The schedule is asserted on fake timers and a fake `performance` clock: on the real clock a
  // loaded machine can stall the process between two readings and make any gap look shorter or
  // longer than the publisher's own clock saw it.
  afterEach(() => {
    vi.useRealTimers();
  });

  it('publishes at once with the last memory read, and a burst of changes at most once per coalescing interval', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const rounds: { memory: string; at: number }[] = [];
    const publisher = new FiguresPublisher(
      async (memory) => {
        rounds.push({ memory, at: performance.now() });
        return { at: Date.now(), services: [] };
      },
      () => [{ send: () => true }],
      log,
      60_000,
      100,
    );
    const started = performance.now();
    publisher.changed();
    await vi.advanceTimersByTimeAsync(0);
    // At once: no time passed.
    expect(rounds).toEqual([{ memory: 'last', at: started }]);
    // 50 changes in a burst (reports from many services): one more round, 100 ms after the first.
    await vi.advanceTimersByTimeAsync(30);
    for (let i = 0; i < 50; i++) publisher.changed();
    await vi.advanceTimersByTimeAsync(69);
    expect(rounds).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(rounds).toHaveLength(2);
    expect(rounds[1]).toEqual({ memory: 'last', at: started + 100 });
    // Nothing else was waiting: no third round.
    await vi.advanceTimersByTimeAsync(1000);
    expect(rounds).toHaveLength(2);
    // A change after the interval passed: at once again.
    publisher.changed();
    await vi.advanceTimersByTimeAsync(0);
    expect(rounds[2]).toEqual({ memory: 'last', at: started + 1100 });
    publisher.stop();
    publisher.changed();
    await publisher.publish();
    await vi.advanceTimersByTimeAsync(1000);
    expect(rounds).toHaveLength(3);
  });

  it('a change during a round gives one more round right after it', async () => {
    let release: () => void = () => {};
    const memories: string[] = [];
    const publisher = new FiguresPublisher(
      async (memory) => {
        memories.push(memory);
        if (memories.length === 1) await new Promise<void>((resolve) => (release = resolve));
        return { at: Date.now(), services: [] };
      },
      () => [{ send: () => true }],
      log,
      60_000,
      0,
    );
    const first = publisher.publish('scan');
    publisher.changed();
    publisher.changed();
    release();
    await first;
    await waitFor(() => memories.length === 2, { what: 'the round after' });
    expect(memories).toEqual(['scan', 'last']);
    publisher.stop();
  });
});

describe('FiguresHub and the publisher', () => {
  it('tells of each report taken in, not of a refused one', () => {
    let changes = 0;
    const hub = new FiguresHub(log, () => changes++);
    hub.report('smtp', 10, { values: { accepted: 1 }, declaration });
    hub.report('smtp', 10, { values: { accepted: 2 } });
    hub.report('smtp', 10, { values: { accepted: -1 } });
    hub.report('web', 11, { values: { accepted: 1 } });
    expect(changes).toBe(2);
  });
});
