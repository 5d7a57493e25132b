/**
 * The `/metrics` text on its own: rows rendered, then parsed by Debian's python3-prometheus-client
 * (strict OpenMetrics); access by bearer token or loopback; the token file in the data dir.
 */
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { counterFigure, type CounterFigure } from '@hearth/metrics';
import { counterMetricName, isLoopback, metricsAccess, metricsToken, metricsTokenPath, negotiateMetricsFormat, readMetricsToken, renderMetrics, type MetricsRow } from '@hearth/admin';
import { counters as filesCounters } from '@hearth/files';
import { makeTempDir, runProgram } from '@hearth/testkit';
import { parseOpenMetrics, sampleValue } from './openmetrics.js';

const smtpCounters: CounterFigure[] = [
  counterFigure('connectionsTotal', { id: 1, type: 'counter', description: 'Connections accepted', unit: 'connections', key: true }, 42),
  counterFigure('connectionsOpen', { id: 2, type: 'gauge', description: 'Connections open now', unit: 'connections' }, 3),
  counterFigure('bytesIn', { id: 3, type: 'counter', description: 'Message bytes "received"\\ in DATA', unit: 'bytes', prometheus: { name: 'received_bytes_total' } }, 2 ** 40),
];

/** The files service's real declaration, every counter at its id (so each value is told apart). */
const filesFigures: CounterFigure[] = Object.entries(filesCounters).map(([name, spec]) => counterFigure(name, spec, spec.id));
const filesRow = (name: string): MetricsRow => ({ name, type: 'service', kind: 'files', state: 'running', restarts: 0, uptimeMs: 1000, rssBytes: null, counters: filesFigures });

const rows: MetricsRow[] = [
  { name: 'smtp', type: 'service', kind: 'smtp', state: 'running', restarts: 2, uptimeMs: 12_500, rssBytes: 80_000_000, standbyRssBytes: 70_000_000, counters: smtpCounters },
  { name: 'smtp-b', type: 'service', kind: 'smtp', state: 'backoff', restarts: 7, uptimeMs: null, rssBytes: null, standbyRssBytes: null, counters: [counterFigure('connectionsTotal', { id: 1, type: 'counter', description: 'Connections accepted', unit: 'connections' }, 5)] },
  { name: 'web "x"\\\n', type: 'command', kind: undefined, state: 'stopped', restarts: 0, uptimeMs: null, rssBytes: null },
];

describe('renderMetrics', () => {
  it('names samples after the kind and the counter: its Prometheus name, else its own in snake case, _total on a counter', () => {
    expect(counterMetricName('smtp', { name: 'connectionsTotal', type: 'counter' })).toBe('hearth_smtp_connections_total');
    expect(counterMetricName('smtp', { name: 'messagesReceived', type: 'counter' })).toBe('hearth_smtp_messages_received_total');
    expect(counterMetricName('smtp', { name: 'connectionsOpen', type: 'gauge' })).toBe('hearth_smtp_connections_open');
    expect(counterMetricName('smtp', smtpCounters[2]!)).toBe('hearth_smtp_received_bytes_total');
    expect(counterMetricName('my-kind', { name: 'x', type: 'gauge' })).toBe('hearth_my_kind_x');
  });

  it('renders text that a strict OpenMetrics parser reads back with every value', async () => {
    const text = await renderMetrics(rows);
    expect(text.endsWith('# EOF\n')).toBe(true);
    const families = await parseOpenMetrics(text);
    const type = (name: string) => families.find((f) => f.name === name)?.type;
    expect(type('hearth_smtp_connections')).toBe('counter');
    expect(type('hearth_smtp_connections_open')).toBe('gauge');
    expect(type('hearth_service_restarts')).toBe('counter');
    expect(type('hearth_service_up')).toBe('gauge');
    expect(families.find((f) => f.name === 'hearth_smtp_received_bytes')?.help).toBe('Message bytes "received"\\ in DATA (bytes)');

    expect(sampleValue(families, 'hearth_smtp_connections_total', { service: 'smtp' })).toBe(42);
    expect(sampleValue(families, 'hearth_smtp_connections_total', { service: 'smtp-b' })).toBe(5);
    expect(sampleValue(families, 'hearth_smtp_connections_open', { service: 'smtp' })).toBe(3);
    expect(sampleValue(families, 'hearth_smtp_received_bytes_total', { service: 'smtp' })).toBe(2 ** 40);
    expect(sampleValue(families, 'hearth_service_up', { service: 'smtp' })).toBe(1);
    expect(sampleValue(families, 'hearth_service_up', { service: 'smtp-b' })).toBe(0);
    expect(sampleValue(families, 'hearth_service_state', { service: 'smtp-b', state: 'backoff' })).toBe(1);
    expect(sampleValue(families, 'hearth_service_state', { service: 'smtp-b', state: 'running' })).toBe(0);
    expect(sampleValue(families, 'hearth_service_restarts_total', { service: 'smtp-b' })).toBe(7);
    expect(sampleValue(families, 'hearth_service_memory_bytes', { service: 'smtp' })).toBe(80_000_000);
    expect(sampleValue(families, 'hearth_service_standby_memory_bytes', { service: 'smtp' })).toBe(70_000_000);
    expect(sampleValue(families, 'hearth_service_uptime_seconds', { service: 'smtp' })).toBe(12.5);
    // Unknown figures are absent, not zero.
    expect(sampleValue(families, 'hearth_service_memory_bytes', { service: 'smtp-b' })).toBeUndefined();
    expect(sampleValue(families, 'hearth_service_uptime_seconds', { service: 'smtp-b' })).toBeUndefined();
  });

  it("exposes the files service's requests by method and its responses by status class as one family each", async () => {
    const rows = [filesRow('files'), filesRow('files-b')];
    const families = await parseOpenMetrics(await renderMetrics(rows));
    const requests = families.find((f) => f.name === 'hearth_files_requests')!;
    expect({ type: requests.type, help: requests.help }).toEqual({ type: 'counter', help: 'HTTP requests by method (other: a method the service does not support, answered 501)' });
    const byMethod = (service: string) => Object.fromEntries(requests.samples.filter((x) => x.labels['service'] === service).map((x) => [x.labels['method'], x.value]));
    const methods = { OPTIONS: 6, GET: 7, HEAD: 8, PUT: 9, DELETE: 10, MKCOL: 11, COPY: 12, MOVE: 13, PROPFIND: 14, PROPPATCH: 15, LOCK: 16, UNLOCK: 17, other: 18 };
    expect(byMethod('files')).toEqual(methods);
    expect(byMethod('files-b')).toEqual(methods);
    const responses = families.find((f) => f.name === 'hearth_files_responses')!;
    expect({ type: responses.type, help: responses.help }).toEqual({ type: 'counter', help: 'HTTP responses by status class' });
    for (const [code, value] of Object.entries({ '2xx': 19, '3xx': 20, '4xx': 21, '5xx': 22 })) {
      expect(sampleValue(families, 'hearth_files_responses_total', { service: 'files', code })).toBe(value);
    }
    expect(sampleValue(families, 'hearth_files_received_bytes_total', { service: 'files' })).toBe(23);
    expect(sampleValue(families, 'hearth_files_sent_bytes_total', { service: 'files' })).toBe(24);
    // No family per method, status class or direction is left.
    expect(families.map((f) => f.name).filter((n) => /requests_|responses\d|bytes_(in|out)/.test(n))).toEqual([]);

    const text = await renderMetrics(rows, 'text');
    expect(text.match(/^# (HELP|TYPE) hearth_files_requests_total .*$/gm)).toEqual([
      '# HELP hearth_files_requests_total HTTP requests by method (other: a method the service does not support, answered 501)',
      '# TYPE hearth_files_requests_total counter',
    ]);
    expect(text).toContain('hearth_files_requests_total{service="files",method="PROPFIND"} 14\n');
    expect(text).toContain('hearth_files_responses_total{service="files-b",code="4xx"} 21\n');
  });

  it('passes promtool check metrics (its parser and its lint of names), every files counter included', async () => {
    const promtool = async (input: string) => {
      const r = await runProgram('promtool', ['check', 'metrics'], { input, timeoutMs: 20_000 });
      return { code: r.code, out: r.stdout + r.stderr };
    };
    const checkedRows = [...rows, filesRow('files')];
    expect(await promtool(await renderMetrics(checkedRows, 'text'))).toEqual({ code: 0, out: '' });
    // promtool reads the text format only: in OpenMetrics it finds a counter's samples (x_total)
    // under a family without help (x's), and nothing else.
    const openMetrics = await renderMetrics(checkedRows, 'openmetrics');
    const counterSamples = (await parseOpenMetrics(openMetrics)).filter((f) => f.type === 'counter').map((f) => `${f.name}_total no help text`);
    expect(counterSamples).toContain('hearth_files_requests_total no help text');
    const om = await promtool(openMetrics);
    expect(om.out.trim().split('\n').sort()).toEqual(counterSamples.sort());
    // promtool can fail: a counter without _total and a unit out of place are refused.
    const bad = await runProgram('promtool', ['check', 'metrics'], { input: '# HELP hearth_x_bytes_in x\n# TYPE hearth_x_bytes_in counter\nhearth_x_bytes_in 1\n', timeoutMs: 20_000 });
    expect(bad.code).toBe(3);
    expect(bad.stdout + bad.stderr).toMatch(/counter metrics should have "_total" suffix/);
  });

  it('leaves out samples whose family another kind, the service table or other labels made first, rather than mixing them in', async () => {
    const gauge = (name: string, prometheus?: { name: string; labels?: Record<string, string> }) =>
      counterFigure(name, { id: 1, type: 'gauge', description: name, unit: 'things', ...(prometheus ? { prometheus } : {}) }, 5);
    const row = (name: string, kind: string, counters: CounterFigure[]): MetricsRow => ({ name, type: 'service', kind, state: 'running', restarts: 0, uptimeMs: 1, rssBytes: null, counters });
    const text = await renderMetrics([
      row('a', 'my-kind', [gauge('x')]),
      row('b', 'my_kind', [gauge('x')]),
      row('c', 'service', [gauge('up')]),
      row('d', 'files', [gauge('queued', { name: 'queued', labels: { lane: 'fast' } })]),
      row('e', 'files', [gauge('queued')]),
    ]);
    const families = await parseOpenMetrics(text);
    expect(sampleValue(families, 'hearth_my_kind_x', { service: 'a' })).toBe(5);
    expect(sampleValue(families, 'hearth_my_kind_x', { service: 'b' })).toBeUndefined();
    expect(sampleValue(families, 'hearth_service_up', { service: 'c' })).toBe(1);
    expect(sampleValue(families, 'hearth_files_queued', { service: 'd', lane: 'fast' })).toBe(5);
    expect(families.find((f) => f.name === 'hearth_files_queued')!.samples).toHaveLength(1);
  });

  it('escapes hostile service names in labels (the parser reads the same name back)', async () => {
    const families = await parseOpenMetrics(await renderMetrics(rows));
    expect(sampleValue(families, 'hearth_service_info', { service: 'web "x"\\\n', kind: '', type: 'command' })).toBe(1);
    expect(sampleValue(families, 'hearth_service_state', { service: 'web "x"\\\n', state: 'stopped' })).toBe(1);
  });

  it('still renders parseable text with no service at all', async () => {
    const families = await parseOpenMetrics(await renderMetrics([]));
    expect(families.map((f) => f.name)).toEqual(['hearth_service_up']);
  });

  it('renders the same samples in the text format 0.0.4, a counter family named with its _total', async () => {
    const text = await renderMetrics(rows, 'text');
    expect(text).not.toContain('# EOF');
    expect(text).toMatch(/^# TYPE hearth_smtp_connections_total counter\nhearth_smtp_connections_total\{service="smtp"\} 42$/m);
    expect(text).toMatch(/^# TYPE hearth_service_restarts_total counter$/m);
    expect(text).toContain('hearth_service_state{service="web \\"x\\"\\\\\\n",state="stopped"} 1');
    const samples = (t: string) => t.split('\n').filter((l) => l !== '' && !l.startsWith('#')).sort();
    expect(samples(text)).toEqual(samples(await renderMetrics(rows, 'openmetrics')));
  });

  it('the parser under test refuses broken text (so the checks above can fail)', async () => {
    await expect(parseOpenMetrics('# TYPE x counter\nx 1\n# EOF\n')).rejects.toThrow(/refused/);
    await expect(parseOpenMetrics('# TYPE x gauge\nx 1\n')).rejects.toThrow(/refused/);
  });
});

describe('negotiateMetricsFormat', () => {
  it('gives OpenMetrics to who prefers it (Prometheus), the text format to anyone else', () => {
    const prometheus = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
    expect(negotiateMetricsFormat(prometheus)).toBe('openmetrics');
    expect(negotiateMetricsFormat('application/openmetrics-text; version=1.0.0')).toBe('openmetrics');
    expect(negotiateMetricsFormat(undefined)).toBe('text');
    expect(negotiateMetricsFormat('*/*')).toBe('text');
    expect(negotiateMetricsFormat('text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5')).toBe('text');
    expect(negotiateMetricsFormat('text/plain;q=0.2, application/openmetrics-text;q=0.9')).toBe('openmetrics');
    expect(negotiateMetricsFormat('application/openmetrics-text;q=0, text/plain;q=0.1')).toBe('text');
    expect(negotiateMetricsFormat('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited')).toBe('text');
  });
});

describe('metricsAccess', () => {
  const token = { kind: 'token', token: 'secret-token-1' } as const;

  it('serves only the right bearer token, from any address', () => {
    expect(metricsAccess(token, 'Bearer secret-token-1', '192.0.2.7')).toEqual({ ok: true });
    expect(metricsAccess(token, 'bearer secret-token-1', '127.0.0.1')).toEqual({ ok: true });
    const missing = metricsAccess(token, undefined, '127.0.0.1');
    expect(missing).toMatchObject({ ok: false, status: 401, reason: 'a bearer token is required' });
    expect(missing.ok === false && missing.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(metricsAccess(token, 'Bearer secret-token-2', '127.0.0.1')).toMatchObject({ ok: false, status: 401, reason: 'wrong bearer token' });
    expect(metricsAccess(token, 'Bearer secret-token-1x', '127.0.0.1')).toMatchObject({ ok: false, status: 401 });
    expect(metricsAccess(token, 'Basic c2VjcmV0', '127.0.0.1')).toMatchObject({ ok: false, status: 401 });
  });

  it('without a token, serves loopback peers only', () => {
    const loopback = { kind: 'loopback' } as const;
    for (const a of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) expect(metricsAccess(loopback, undefined, a)).toEqual({ ok: true });
    for (const a of ['192.0.2.7', '::ffff:192.0.2.7', '2001:db8::1', '::', undefined]) {
      expect(metricsAccess(loopback, undefined, a)).toMatchObject({ ok: false, status: 403 });
    }
    expect(isLoopback('128.0.0.1')).toBe(false);
  });
});

describe('metricsToken', () => {
  it('is generated once into DATA/admin/metrics-token with mode 0600 and kept', async () => {
    const dir = await makeTempDir();
    try {
      expect(readMetricsToken(dir.path)).toBeUndefined();
      const token = metricsToken(dir.path);
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(statSync(metricsTokenPath(dir.path)).mode & 0o777).toBe(0o600);
      expect(metricsToken(dir.path)).toBe(token);
      expect(readMetricsToken(dir.path)).toBe(token);
    } finally {
      await dir.remove();
    }
  });
});
