/**
 * The `/metrics` text on its own: rows rendered, then parsed by Debian's python3-prometheus-client
 * (strict OpenMetrics); access by bearer token or loopback; the token file in the data dir.
 */
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { counterFigure, type CounterFigure } from '@hearth/metrics';
import { counterFamilyName, isLoopback, metricsAccess, metricsToken, metricsTokenPath, negotiateMetricsFormat, readMetricsToken, renderMetrics, snakeCase, type MetricsRow } from '@hearth/admin';
import { makeTempDir } from '@hearth/testkit';
import { parseOpenMetrics, sampleValue } from './openmetrics.js';

const smtpCounters: CounterFigure[] = [
  counterFigure('connectionsTotal', { id: 1, type: 'counter', description: 'Connections accepted', unit: 'connections', key: true }, 42),
  counterFigure('connectionsOpen', { id: 2, type: 'gauge', description: 'Connections open now', unit: 'connections' }, 3),
  counterFigure('bytesReceived', { id: 3, type: 'counter', description: 'Message bytes "received"\\ in DATA', unit: 'bytes' }, 2 ** 40),
];

const rows: MetricsRow[] = [
  { name: 'smtp', type: 'service', kind: 'smtp', state: 'running', restarts: 2, uptimeMs: 12_500, rssBytes: 80_000_000, standbyRssBytes: 70_000_000, counters: smtpCounters },
  { name: 'smtp-b', type: 'service', kind: 'smtp', state: 'backoff', restarts: 7, uptimeMs: null, rssBytes: null, standbyRssBytes: null, counters: [counterFigure('connectionsTotal', { id: 1, type: 'counter', description: 'Connections accepted', unit: 'connections' }, 5)] },
  { name: 'web "x"\\\n', type: 'command', kind: undefined, state: 'stopped', restarts: 0, uptimeMs: null, rssBytes: null },
];

describe('renderMetrics', () => {
  it('names families after the kind and the counter, in snake case, a counter without its _total', () => {
    expect(snakeCase('connectionsTotal')).toBe('connections_total');
    expect(snakeCase('tlsHandshakesFailed')).toBe('tls_handshakes_failed');
    expect(counterFamilyName('smtp', { name: 'connectionsTotal', type: 'counter' })).toBe('hearth_smtp_connections');
    expect(counterFamilyName('smtp', { name: 'connectionsOpen', type: 'gauge' })).toBe('hearth_smtp_connections_open');
    expect(counterFamilyName('my-kind', { name: 'x', type: 'gauge' })).toBe('hearth_my_kind_x');
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
    expect(families.find((f) => f.name === 'hearth_smtp_bytes_received')?.help).toBe('Message bytes "received"\\ in DATA (bytes)');

    expect(sampleValue(families, 'hearth_smtp_connections_total', { service: 'smtp' })).toBe(42);
    expect(sampleValue(families, 'hearth_smtp_connections_total', { service: 'smtp-b' })).toBe(5);
    expect(sampleValue(families, 'hearth_smtp_connections_open', { service: 'smtp' })).toBe(3);
    expect(sampleValue(families, 'hearth_smtp_bytes_received_total', { service: 'smtp' })).toBe(2 ** 40);
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
