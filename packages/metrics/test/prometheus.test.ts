/** How declarations are named for Prometheus: the default rule, exposures, families and their checks. */
import { describe, expect, it } from 'vitest';
import {
  counterFigure,
  declarationProblems,
  declareCounters,
  parseDeclaration,
  parseFigures,
  prometheusHelp,
  prometheusName,
  prometheusProblems,
  snakeCase,
  type CounterDeclaration,
} from '@hearth/metrics';

const requests = (method: string) => ({ name: 'requests_total', labels: { method }, help: 'HTTP requests by method' });

const decl = declareCounters({
  requestsGet: { id: 1, type: 'counter', description: 'GET requests', unit: 'requests', prometheus: requests('GET') },
  requestsPut: { id: 2, type: 'counter', description: 'PUT requests', unit: 'requests', prometheus: requests('PUT') },
  bytesIn: { id: 3, type: 'counter', description: 'Bytes received', unit: 'bytes', prometheus: { name: 'received_bytes_total' } },
  connectionsTotal: { id: 4, type: 'counter', description: 'Connections accepted', unit: 'connections' },
  connectionsOpen: { id: 5, type: 'gauge', description: 'Connections open now', unit: 'connections' },
});

describe('prometheusName', () => {
  it('is the exposure name, else the counter name in snake case with _total once on a counter', () => {
    expect(snakeCase('tlsHandshakesFailed')).toBe('tls_handshakes_failed');
    expect(snakeCase('responses2xx')).toBe('responses2xx');
    expect(prometheusName('requestsGet', decl.requestsGet)).toBe('requests_total');
    expect(prometheusName('bytesIn', decl.bytesIn)).toBe('received_bytes_total');
    expect(prometheusName('connectionsTotal', decl.connectionsTotal)).toBe('connections_total');
    expect(prometheusName('messagesReceived', { type: 'counter' })).toBe('messages_received_total');
    expect(prometheusName('connectionsOpen', decl.connectionsOpen)).toBe('connections_open');
  });

  it('helps with the family text, else the description and unit', () => {
    expect(prometheusHelp(decl.requestsPut)).toBe('HTTP requests by method');
    expect(prometheusHelp(decl.bytesIn)).toBe('Bytes received (bytes)');
    expect(prometheusHelp(decl.connectionsOpen)).toBe('Connections open now (connections)');
  });
});

describe('prometheusProblems', () => {
  const base = { id: 1, type: 'counter', description: 'd', unit: 'requests' } as const;
  const problems = (d: CounterDeclaration) => prometheusProblems(d);

  it('finds nothing wrong with a sound declaration', () => {
    expect(problems(decl)).toEqual([]);
  });

  it('asks a counter in bytes or seconds for a name ending in its unit, and refuses scaled units', () => {
    expect(problems({ bytesIn: { ...base, unit: 'bytes' } })).toEqual([
      'counter bytesIn: its unit is bytes, so its Prometheus name must end in _bytes_total (bytes_in_total; give prometheus.name)',
    ]);
    expect(problems({ waitSeconds: { ...base, type: 'gauge', unit: 'seconds' }, lag: { ...base, id: 2, type: 'gauge', unit: 'seconds', prometheus: { name: 'lag' } } })).toEqual([
      'counter lag: its unit is seconds, so its Prometheus name must end in _seconds (lag; give prometheus.name)',
    ]);
    expect(problems({ latency: { ...base, type: 'gauge', unit: 'milliseconds', prometheus: { name: 'latency_milliseconds' } } })).toEqual([
      'counter latency: Prometheus takes seconds, not milliseconds: count in seconds',
    ]);
    // declareCounters refuses it at load, with the rest of the declaration's problems.
    expect(() => declareCounters({ bytesOut: { ...base, unit: 'bytes' } })).toThrow(/bytesOut: its unit is bytes/);
  });

  it('checks each exposure: snake case, _total on counters only, label names, no service label, no empty help', () => {
    expect(
      problems({
        a: { ...base, prometheus: { name: 'Requests-total' } },
        b: { ...base, id: 2, prometheus: { name: 'b_count' } },
        c: { ...base, id: 3, type: 'gauge', prometheus: { name: 'c_total' } },
        d: { ...base, id: 4, prometheus: { name: 'd_total', labels: { service: 'x', 'bad-label': 'y', __x: 'z', empty: '' }, help: ' ' } },
      }),
    ).toEqual([
      'counter a: the Prometheus name "Requests-total" must be snake_case (lower-case letters, digits and _)',
      'counter a: the Prometheus name Requests-total of a counter must end in _total',
      'counter b: the Prometheus name b_count of a counter must end in _total',
      'counter c: the Prometheus name c_total of a gauge must not end in _total',
      "counter d: the Prometheus label service is the renderer's (the service's name in the config)",
      'counter d: the Prometheus label "bad-label" must be letters, digits and _, not starting with __',
      'counter d: the Prometheus label "__x" must be letters, digits and _, not starting with __',
      'counter d: the Prometheus label empty is empty',
      'counter d: the Prometheus help is empty',
    ]);
  });

  it('makes the members of a family agree: type, labels, help; and tells them apart by their labels', () => {
    expect(
      problems({
        get: { ...base, prometheus: requests('GET') },
        put: { ...base, id: 2, type: 'gauge', prometheus: { ...requests('PUT'), name: 'requests_total' } },
        head: { ...base, id: 3, prometheus: { name: 'requests_total', labels: { verb: 'HEAD' }, help: 'HTTP requests by method' } },
        again: { ...base, id: 4, prometheus: { ...requests('GET'), help: 'GET requests' } },
        bare: { ...base, id: 5, prometheus: { name: 'requests_total', labels: { method: 'POST' } } },
      }),
    ).toEqual([
      'counter put: the Prometheus name requests_total of a gauge must not end in _total',
      'counter put: in the Prometheus family requests_total with get, it must be a counter too',
      'counter head: in the Prometheus family requests_total with get, its labels must be method too',
      'counter again: in the Prometheus family requests_total with get, its help must be the same',
      'counter again: the Prometheus family requests_total already has get with the labels {method="GET"}',
      "counter bare: in the Prometheus family requests_total with get, it needs the family's help (prometheus.help)",
    ]);
    // A counter named by the default rule joins a family of that name, and has no labels.
    expect(problems({ get: { ...base, prometheus: requests('GET') }, requests: { ...base, id: 2 } })).toContain(
      "counter requests: in the Prometheus family requests_total with get, it needs the family's help (prometheus.help)",
    );
  });

  it('refuses two families that OpenMetrics names alike (a gauge x and a counter x_total)', () => {
    expect(problems({ queued: { ...base, type: 'gauge' }, queuedTotal: { ...base, id: 2 } })).toEqual([
      'counter queuedTotal: its Prometheus family queued_total collides with queued (both are queued in OpenMetrics)',
    ]);
  });

  it("is part of declarationProblems, after the declaration's own problems", () => {
    expect(declarationProblems({ x: { ...base, id: 0, unit: 'bytes' } })).toEqual([
      'counter x: id 0 is not an integer in 1..2147483647',
      'counter x: its unit is bytes, so its Prometheus name must end in _bytes_total (x_total; give prometheus.name)',
    ]);
  });
});

describe('off the wire', () => {
  it('parseDeclaration keeps exposures and refuses a malformed or unsound one', () => {
    expect(parseDeclaration(JSON.parse(JSON.stringify(decl)))).toEqual(decl);
    const one = (prometheus: unknown) => parseDeclaration({ a: { ...decl.requestsGet, prometheus } });
    expect(one('requests_total')).toBe('counter a: prometheus is not an object');
    expect(one({ labels: {} })).toBe('counter a: prometheus.name is not a string');
    expect(one({ name: 'a_total', labels: { method: 1 } })).toBe('counter a: prometheus.labels is not an object of strings');
    expect(one({ name: 'a_total', help: 7 })).toBe('counter a: prometheus.help is not a string');
    expect(one({ name: 'a_count' })).toBe('counter a: the Prometheus name a_count of a counter must end in _total');
  });

  it('a figure carries the exposure when declared, and parseFigures checks it', () => {
    const figure = counterFigure('requestsGet', decl.requestsGet, 7);
    expect(figure.prometheus).toEqual(requests('GET'));
    expect('prometheus' in counterFigure('connectionsOpen', decl.connectionsOpen, 1)).toBe(false);
    const service = { name: 'files', kind: 'files', state: 'running', pid: 42, uptimeMs: 1000, restarts: 0, lastExit: null, rssBytes: null, counters: [figure] };
    expect(parseFigures(JSON.parse(JSON.stringify({ at: 1, services: [service] })))).toEqual({ at: 1, services: [service] });
    expect(parseFigures({ at: 1, services: [{ ...service, counters: [{ ...figure, prometheus: { name: 3 } }] }] })).toBe(
      'figures.services[0].counters[0]: prometheus.name is not a string',
    );
  });
});
