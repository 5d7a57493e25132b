/**
 * `/metrics` under a real `hearth up` (admin, smtp), scraped over HTTPS by curl trusting the
 * suite's certificate, parsed by Debian's python3-prometheus-client: values are those of `hearth
 * status --json` taken around the scrape; without Prometheus's Accept, the text format 0.0.4,
 * checked by promtool; a wrong or missing token is refused; counters never go
 * back across a kill -9 of a service; `metrics.auth: loopback` serves without a token.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceStatus } from '@hearth/supervisor';
import { connectAndReadLine, runProgram, waitFor } from '@hearth/testkit';
import { startUp, stopAll, waitState, type Up } from '@hearth/testkit/hearth-up';
import { parseOpenMetrics, sampleValue, type Family } from './openmetrics.js';

let up: Up;
let port: number;
let mx: number;
let token: string;

const config = (auth: 'token' | 'loopback') => `services:
  admin:
    service: admin
    listen: { https: { port: 0, tls: true } }
    settings: { metrics: { auth: ${auth} } }
  smtp:
    service: smtp
    standby: false
    listen: { mx: { port: 0 } }
`;

interface Scrape {
  readonly status: number;
  readonly headers: string;
  readonly body: string;
}

/** What Prometheus 2.42 sends as Accept on a scrape. */
const PROMETHEUS_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

/** GET /metrics with curl (`--cacert`: the suite's self-signed certificate, for localhost). */
function scrape(auth?: string, accept?: string): Promise<Scrape> {
  const ca = join(up.data, 'tls', 'self-signed', 'cert.pem');
  const args = [
    '-sS', '-D', '-', '--cacert', ca, '--resolve', `localhost:${port}:127.0.0.1`,
    ...(auth ? ['-H', `Authorization: ${auth}`] : []),
    ...(accept ? ['-H', `Accept: ${accept}`] : []),
    `https://localhost:${port}/metrics`,
  ];
  return new Promise((resolve, reject) =>
    execFile('curl', args, (err, stdout, stderr) => {
      if (err) return reject(new Error(`curl: ${stderr || err.message}`));
      const cut = stdout.indexOf('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/\S+ (\d+)/.exec(stdout)?.[1]), headers: stdout.slice(0, cut), body: stdout.slice(cut + 4) });
    }),
  );
}

async function families(): Promise<Family[]> {
  const r = await scrape(`Bearer ${token}`, PROMETHEUS_ACCEPT);
  expect(r.status).toBe(200);
  expect(r.headers).toMatch(/^content-type: application\/openmetrics-text; version=1\.0\.0; charset=utf-8\r?$/im);
  // A scraper gets no session cookie (nothing is kept for it).
  expect(r.headers).not.toMatch(/^set-cookie:/im);
  return parseOpenMetrics(r.body);
}

async function statusJson(): Promise<ServiceStatus[]> {
  const r = await up.cli('status', '--json');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as ServiceStatus[];
}

const counterValue = (f: readonly Family[], s: ServiceStatus, name: string, type: string): number | undefined => {
  const snake = name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
  const family = `hearth_${s.kind}_${type === 'counter' ? snake.replace(/_total$/, '') : snake}`;
  return sampleValue(f, type === 'counter' ? `${family}_total` : family, { service: s.name });
};

beforeAll(async () => {
  up = await startUp(config('token'));
  const admin = await waitState(up, 'admin', 'running', 20_000);
  port = admin.listeners[0]!.port;
  mx = (await waitState(up, 'smtp', 'running', 20_000)).listeners.find((l) => l.name === 'mx')!.port;
  const printed = await up.cli('admin', 'metrics-token');
  expect(printed.code).toBe(0);
  token = printed.stdout.trim();
  // Some traffic, so the smtp counters are not all zero (each check below could then fail).
  for (let i = 0; i < 3; i++) expect(await connectAndReadLine(mx)).toMatch(/^220 /);
  await waitFor(async () => ((await up.service('smtp')).counters ?? []).some((c) => c.name === 'connectionsTotal' && c.value >= 3), {
    timeout: 10_000,
    what: 'the smtp connections to be counted',
  });
});
afterAll(stopAll);

describe('/metrics over HTTPS', () => {
  it('serves the figures of hearth status --json, parsed by the Prometheus client library', async () => {
    const before = await statusJson();
    const f = await families();
    const after = await statusJson();
    for (const s of after) {
      const b = before.find((x) => x.name === s.name)!;
      const labels = { service: s.name };
      expect(sampleValue(f, 'hearth_service_up', labels)).toBe(s.state === 'running' ? 1 : 0);
      expect(sampleValue(f, 'hearth_service_state', { ...labels, state: s.state })).toBe(1);
      expect(sampleValue(f, 'hearth_service_info', { ...labels, kind: s.kind ?? '', type: s.type })).toBe(1);
      expect(sampleValue(f, 'hearth_service_restarts_total', labels)).toBe(s.restarts);
      const uptime = sampleValue(f, 'hearth_service_uptime_seconds', labels)!;
      expect(uptime * 1000).toBeGreaterThanOrEqual(b.uptimeMs!);
      expect(uptime * 1000).toBeLessThanOrEqual(s.uptimeMs!);
      // Memory is read from /proc at each call: the scrape's figure lies near the two around it.
      const rss = sampleValue(f, 'hearth_service_memory_bytes', labels)!;
      expect(rss).toBeGreaterThan(Math.min(b.rssBytes!, s.rssBytes!) * 0.8);
      expect(rss).toBeLessThan(Math.max(b.rssBytes!, s.rssBytes!) * 1.2);
      expect(s.counters!.length).toBeGreaterThan(0);
      for (const c of s.counters!) {
        const value = counterValue(f, s, c.name, c.type);
        const was = b.counters!.find((x) => x.name === c.name)!.value;
        // The admin service counts the scrape itself; smtp is quiet: its values are exact.
        if (s.name === 'smtp') expect({ [c.name]: value }).toEqual({ [c.name]: c.value });
        else if (c.type === 'counter') {
          expect(value).toBeGreaterThanOrEqual(was);
          expect(value).toBeLessThanOrEqual(c.value);
        } else expect(value).toBeTypeOf('number');
      }
    }
    expect(counterValue(f, after.find((s) => s.name === 'smtp')!, 'connectionsTotal', 'counter')).toBeGreaterThanOrEqual(3);
  });

  it('answers a scraper that does not ask for OpenMetrics (curl) in the text format 0.0.4, which promtool check metrics passes, with the same samples', async () => {
    const r = await scrape(`Bearer ${token}`);
    expect(r.status).toBe(200);
    expect(r.headers).toMatch(/^content-type: text\/plain; version=0\.0\.4; charset=utf-8\r?$/im);
    expect(r.headers).toMatch(/^vary: Accept\r?$/im);
    expect(r.body).not.toContain('# EOF');
    const checked = await runProgram('promtool', ['check', 'metrics'], { input: r.body, timeoutMs: 20_000 });
    expect({ code: checked.code, out: checked.stdout + checked.stderr }).toEqual({ code: 0, out: '' });
    // Every sample of the OpenMetrics answer is there under the same name (counters end in _total).
    const sampleNames = (text: string) => new Set(text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => /^[a-z_0-9]+/.exec(l)![0]));
    const om = await scrape(`Bearer ${token}`, PROMETHEUS_ACCEPT);
    expect(sampleNames(r.body)).toEqual(sampleNames(om.body));
    expect(r.body).toMatch(/^# TYPE hearth_smtp_connections_total counter$/m);
    expect(r.body).toMatch(/^hearth_smtp_connections_total\{service="smtp"\} \d+$/m);
  });

  it('refuses a missing or wrong token with 401 and a Bearer challenge', async () => {
    for (const auth of [undefined, `Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`, `Basic ${Buffer.from(`x:${token}`).toString('base64')}`]) {
      const r = await scrape(auth);
      expect({ auth, status: r.status }).toEqual({ auth, status: 401 });
      expect(r.headers).toMatch(/^www-authenticate: Bearer realm="hearth metrics"/im);
      expect(r.body).not.toContain('hearth_');
      expect(r.headers).not.toMatch(/^set-cookie:/im);
    }
  });

  it('keeps counters from going back across a kill -9 of a service', async () => {
    const smtp = await up.service('smtp');
    const before = await families();
    const counters = smtp.counters!.filter((c) => c.type === 'counter');
    expect(counters.length).toBeGreaterThan(0);
    process.kill(smtp.pid!, 'SIGKILL');
    const again = await waitFor(async () => {
      const s = await up.service('smtp');
      return s.state === 'running' && s.pid !== smtp.pid ? s : undefined;
    }, { timeout: 20_000, what: 'smtp to run again' });
    // The new instance counts a connection of its own and reports it.
    expect(await connectAndReadLine(mx)).toMatch(/^220 /);
    const after = await waitFor(async () => {
      const f = await families();
      const was = counterValue(before, again, 'connectionsTotal', 'counter')!;
      return counterValue(f, again, 'connectionsTotal', 'counter')! > was ? f : undefined;
    }, { timeout: 10_000, what: 'the new instance to report' });
    for (const c of counters) expect({ [c.name]: counterValue(after, again, c.name, 'counter')! >= counterValue(before, smtp, c.name, 'counter')! }).toEqual({ [c.name]: true });
    expect(sampleValue(after, 'hearth_service_restarts_total', { service: 'smtp' })).toBe(sampleValue(before, 'hearth_service_restarts_total', { service: 'smtp' })! + 1);
  });

  it('serves loopback peers without a token once the settings say loopback (a reload)', async () => {
    up.writeConfig(config('loopback'));
    await up.request({ verb: 'reload' });
    const r = await waitFor(async () => {
      const s = await scrape(undefined, PROMETHEUS_ACCEPT);
      return s.status === 200 ? s : undefined;
    }, { timeout: 10_000, what: 'a scrape without a token to be served' });
    expect(sampleValue(await parseOpenMetrics(r.body), 'hearth_service_up', { service: 'smtp' })).toBe(1);
  });
});
