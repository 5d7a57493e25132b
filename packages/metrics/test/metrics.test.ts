import { describe, expect, it } from 'vitest';
import {
  CounterReporter,
  CounterSet,
  CounterTotals,
  counterFigure,
  declarationProblems,
  declareCounters,
  describeCounters,
  parseCounterValues,
  parseDeclaration,
  parseFigures,
  polledCounters,
  refreshedCounters,
  type CounterValues,
} from '@hearth/metrics';

const decl = declareCounters({
  connections: { id: 1, type: 'counter', description: 'Connections accepted', unit: 'connections', key: true },
  open: { id: 2, type: 'gauge', description: 'Connections open now', unit: 'connections', key: true },
  bytesIn: { id: 5, type: 'counter', description: 'Bytes received', unit: 'bytes', prometheus: { name: 'received_bytes_total' } },
});

describe('declareCounters', () => {
  it('reports every problem at once: duplicate ids, bad names and ids, empty texts', () => {
    const problems = declarationProblems({
      'Bad-name': { id: 1, type: 'counter', description: 'x', unit: 'u' },
      same: { id: 1, type: 'gauge', description: 'x', unit: 'u' },
      zero: { id: 0, type: 'counter', description: ' ', unit: '' },
    });
    expect(problems).toEqual([
      'counter "Bad-name": the name must be camelCase letters and digits (at most 48)',
      "counter same: id 1 is already Bad-name's",
      'counter zero: id 0 is not an integer in 1..2147483647',
      'counter zero: the description is empty',
      'counter zero: the unit is empty',
    ]);
    expect(() => declareCounters({ a: { id: 1, type: 'counter', description: 'a', unit: 'u' }, b: { id: 1, type: 'counter', description: 'b', unit: 'u' } })).toThrow(
      /id 1 is already a's/,
    );
  });

  it('freezes the declaration and lists it by id', () => {
    expect(Object.isFrozen(decl)).toBe(true);
    expect(Object.isFrozen(decl.connections)).toBe(true);
    expect(describeCounters(decl).map((c) => `${c.id}:${c.name}`)).toEqual(['1:connections', '2:open', '5:bytesIn']);
  });
});

describe('parseDeclaration', () => {
  it('accepts a sound declaration off the wire and names the first problem otherwise', () => {
    expect(parseDeclaration(JSON.parse(JSON.stringify(decl)))).toEqual(decl);
    expect(parseDeclaration({ a: { id: 1, type: 'counter', description: 'd' } })).toBe('counter a: id, type, description and unit are required');
    expect(parseDeclaration({ a: { id: -1, type: 'counter', description: 'd', unit: 'u' } })).toBe('counter a: id -1 is not an integer in 1..2147483647');
    expect(parseDeclaration([])).toBe('counter declaration is not an object');
  });
});

describe('CounterSet', () => {
  it('counts, sets gauges (never below 0) and changes its version only on a change', () => {
    const set = new CounterSet(decl);
    expect(set.snapshot()).toEqual({ connections: 0, open: 0, bytesIn: 0 });
    set.inc('connections');
    set.inc('bytesIn', 512.7);
    set.inc('bytesIn', -3); // ignored
    set.add('open', 2);
    set.add('open', -5);
    const v = set.version;
    set.set('open', 0);
    expect(set.version).toBe(v);
    expect(set.snapshot()).toEqual({ connections: 1, open: 0, bytesIn: 512 });
  });
});

describe('CounterReporter', () => {
  it('sends only when changed, and again after a refused send', () => {
    const set = new CounterSet(decl);
    const sent: CounterValues[] = [];
    let accept = true;
    const reporter = new CounterReporter(set, (values) => {
      if (accept) sent.push(values);
      return accept;
    });
    reporter.flush();
    reporter.flush();
    expect(sent).toHaveLength(1);
    set.inc('connections');
    accept = false;
    reporter.flush();
    accept = true;
    reporter.flush();
    reporter.flush();
    expect(sent).toEqual([
      { connections: 0, open: 0, bytesIn: 0 },
      { connections: 1, open: 0, bytesIn: 0 },
    ]);
  });
});

describe('polledCounters', () => {
  it('reads a stats object, keeps the declared names, changes version only on a change', () => {
    const stats = { connections: 1, open: 0, bytesIn: 2, other: 9 };
    const source = polledCounters(decl, () => stats);
    const v1 = source.version;
    expect(source.snapshot()).toEqual({ connections: 1, open: 0, bytesIn: 2 });
    expect(source.version).toBe(v1);
    stats.bytesIn = 3;
    expect(source.version).toBe(v1 + 1);
    expect(source.snapshot()).toEqual({ connections: 1, open: 0, bytesIn: 3 });
  });
});

describe('CounterTotals', () => {
  it('keeps counters monotonic across instances and overlaps; gauges are the live instances only', () => {
    const totals = new CounterTotals(decl);
    totals.report(100, { connections: 5, open: 2, bytesIn: 10 });
    expect(totals.values()).toEqual({ connections: 5, open: 2, bytesIn: 10 });
    // Overlapped restart: the new instance (200) runs alongside the old one.
    totals.report(200, { connections: 1, open: 1, bytesIn: 0 });
    expect(totals.values()).toEqual({ connections: 6, open: 3, bytesIn: 10 });
    totals.end(100); // killed: its counters stay, its gauges go
    expect(totals.values()).toEqual({ connections: 6, open: 1, bytesIn: 10 });
    // A late, lower report from a live instance does not make a counter go back.
    totals.report(200, { connections: 0, open: 0, bytesIn: 3, unknown: 9 } as CounterValues);
    expect(totals.values()).toEqual({ connections: 6, open: 0, bytesIn: 13 });
    totals.end(200);
    totals.end(200);
    expect(totals.values()).toEqual({ connections: 6, open: 0, bytesIn: 13 });
    expect(totals.instances()).toEqual([]);
  });

  it('checks report values from the wire', () => {
    expect(parseCounterValues({ a: 1 })).toEqual({ a: 1 });
    expect(parseCounterValues({ a: -1 })).toBe('counter a: -1 is not a number >= 0');
    expect(parseCounterValues([1])).toBe('counter values are not an object');
  });
});

describe('parseFigures', () => {
  const service = {
    name: 'biff',
    kind: 'biff',
    state: 'running',
    pid: 42,
    uptimeMs: 1000,
    restarts: 0,
    lastExit: null,
    rssBytes: 1 << 20,
    counters: [counterFigure('connections', decl.connections, 3)],
  };

  it('accepts sound figures and names the first problem otherwise', () => {
    expect(parseFigures({ at: 1, services: [service] })).toEqual({ at: 1, services: [service] });
    expect(parseFigures({ at: 1, services: [{ ...service, state: 'dancing' }] })).toBe('figures.services[0]: unknown state "dancing"');
    expect(parseFigures({ at: 1, services: [{ ...service, counters: [{ ...service.counters[0], value: -1 }] }] })).toBe(
      'figures.services[0].counters[0]: value is not a number >= 0',
    );
    expect(parseFigures(null)).toBe('figures: not an object');
  });
});

describe('refreshedCounters', () => {
  it('brings the set up to date before each read of its version and its snapshot', () => {
    const set = new CounterSet(decl);
    let open = 2;
    const source = refreshedCounters(set, () => set.set('open', open));
    const v1 = source.version;
    expect(source.snapshot()).toEqual({ connections: 0, open: 2, bytesIn: 0 });
    expect(source.version).toBe(v1);
    open = 0;
    expect(source.version).toBe(v1 + 1);
    open = 5;
    expect(source.snapshot()['open']).toBe(5);
  });
});
