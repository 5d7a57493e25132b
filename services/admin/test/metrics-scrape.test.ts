/**
 * `/metrics` under a real `hearth up` (admin, smtp, and files, pop3, biff and snmp: every kind's
 * declaration), scraped over HTTPS by curl trusting the suite's certificate, parsed by Debian's
 * python3-prometheus-client: values are those of `hearth status --json` taken around the scrape,
 * under the names and labels the declarations give Prometheus (which `--json` does not print);
 * without Prometheus's Accept, the text format 0.0.4, checked by promtool; a wrong or missing
 * token is refused; counters never go back across a kill -9 of a service; `metrics.auth:
 * loopback` serves without a token.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counterMetricName } from '@hearth/admin';
import type { CounterFigure } from '@hearth/metrics';
import type { ServiceStatus } from '@hearth/supervisor';
import { connectAndReadLine, freePorts, runProgram, waitFor } from '@hearth/testkit';
import { startUp, stopAll, waitState, type Up } from '@hearth/testkit/hearth-up';
import { parseOpenMetrics, sampleValue, type Family } from './openmetrics.js';

let up: Up;
let port: number;
let mx: number;
let token: string;
let udp: { comsat: number; snmp: number };

const config = (auth: 'token' | 'loopback') => `services:
  admin:
    service: admin
    listen: { https: { port: 0, tls: true } }
    settings: { metrics: { auth: ${auth} } }
  smtp:
    service: smtp
    standby: false
    listen: { mx: { port: 0 } }
  files:
    service: files
    standby: false
    listen: { http: { address: 127.0.0.1, port: 0 } }
  pop3:
    service: pop3
    standby: false
    listen: { pop3: { address: 127.0.0.1, port: 0 } }
  biff:
    service: biff
    listen: { comsat: { protocol: udp, address: 127.0.0.1, port: ${udp.comsat} } }
  snmp:
    service: snmp
    standby: false
    listen: { snmp: { protocol: udp, address: 127.0.0.1, port: ${udp.snmp} } }
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

/** Each service's counters as the control socket gives them to the admin service: with their Prometheus exposure. */
let exposed: ReadonlyMap<string, readonly CounterFigure[]>;

const counterValue = (f: readonly Family[], s: ServiceStatus, name: string): number | undefined => {
  const figure = exposed.get(s.name)!.find((c) => c.name === name)!;
  return sampleValue(f, counterMetricName(s.kind!, figure), { service: s.name, ...figure.prometheus?.labels });
};

beforeAll(async () => {
  const [comsat, snmp] = await freePorts(['udp', 'udp']);
  udp = { comsat, snmp };
  up = await startUp(config('token'));
  for (const name of ['files', 'pop3', 'biff', 'snmp']) await waitState(up, name, 'running', 20_000);
  // Each service's declaration reaches the supervisor with its first report, at its start.
  const rows = await waitFor(async () => {
    const all = await up.status();
    return all.every((s) => (s.counters ?? []).length > 0) ? all : undefined;
  }, { timeout: 10_000, what: 'every service to declare its counters' });
  exposed = new Map(rows.map((s) => [s.name, s.counters!]));
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
        const value = counterValue(f, s, c.name);
        const was = b.counters!.find((x) => x.name === c.name)!.value;
        // The admin service counts the scrape itself; smtp is quiet: its values are exact.
        if (s.name === 'smtp') expect({ [c.name]: value }).toEqual({ [c.name]: c.value });
        else if (c.type === 'counter') {
          expect(value).toBeGreaterThanOrEqual(was);
          expect(value).toBeLessThanOrEqual(c.value);
        } else expect(value).toBeTypeOf('number');
      }
    }
    expect(counterValue(f, after.find((s) => s.name === 'smtp')!, 'connectionsTotal')).toBeGreaterThanOrEqual(3);
  });

  it('names the counters as Prometheus practices ask: one family by method, status class or reason; bytes last before _total; what biff drops said', async () => {
    const f = await families();
    const names = f.map((x) => x.name);
    for (const family of ['hearth_files_requests', 'hearth_files_responses', 'hearth_biff_datagrams_dropped', 'hearth_snmp_datagrams_dropped', 'hearth_snmp_reports']) {
      expect(f.find((x) => x.name === family)?.type).toBe('counter');
    }
    const labelled = (family: string, label: string) => f.find((x) => x.name === family)!.samples.filter((x) => x.labels['service'] !== undefined).map((x) => x.labels[label]).sort();
    expect(labelled('hearth_files_requests', 'method')).toEqual(['COPY', 'DELETE', 'GET', 'HEAD', 'LOCK', 'MKCOL', 'MOVE', 'OPTIONS', 'PROPFIND', 'PROPPATCH', 'PUT', 'UNLOCK', 'other']);
    expect(labelled('hearth_files_responses', 'code')).toEqual(['2xx', '3xx', '4xx', '5xx']);
    expect(labelled('hearth_biff_datagrams_dropped', 'reason')).toEqual(['malformed', 'oversized', 'rate_limited', 'unknown_user']);
    expect(labelled('hearth_snmp_datagrams_dropped', 'reason')).toEqual(['auth_failure', 'bad_community', 'bad_version', 'other', 'parse_error', 'unknown_user']);
    expect(labelled('hearth_snmp_reports', 'reason')).toEqual(['not_in_time_window', 'unknown_engine_id']);
    // biff's notifications apart from its comsat datagrams: a dropped notification is not a dropped datagram.
    const biff = (name: string) => f.find((x) => x.name === name)?.samples.find((x) => x.labels['service'] === 'biff')?.name;
    expect(biff('hearth_biff_notifications_dropped')).toBe('hearth_biff_notifications_dropped_total');
    expect(biff('hearth_biff_notifications_sent')).toBe('hearth_biff_notifications_sent_total');
    expect(biff('hearth_biff_notifications_queued')).toBe('hearth_biff_notifications_queued');
    for (const family of ['hearth_files_received_bytes', 'hearth_files_sent_bytes', 'hearth_smtp_received_bytes', 'hearth_pop3_sent_bytes']) expect(names).toContain(family);
    // No counter's family is named in the old way, and every counter's samples end in _total.
    expect(names.filter((n) => /_requests_[a-z]+$|responses\dxx|bytes_(in|out)|_packets$|hearth_biff_(received|malformed|dropped|notified|queued)$|_unknown_engine_ids$|_not_in_time_window$/.test(n))).toEqual([]);
    for (const x of f.filter((x) => x.type === 'counter')) for (const sample of x.samples) expect(sample.name).toBe(`${x.name}_total`);
    // The README's list of the services' counters is what is served, every kind here.
    const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
    const listed = [...readme.matchAll(/^\| `(hearth_(?!service_)[a-z0-9_]+)` \|/gm)].map((m) => m[1]!);
    const served = f.filter((x) => !x.name.startsWith('hearth_service_')).map((x) => (x.type === 'counter' ? `${x.name}_total` : x.name));
    expect(listed.sort()).toEqual(served.sort());
  });

  it('hearth status --json prints the counters as before, without the Prometheus exposure the control socket carries', async () => {
    const printed = (await statusJson()).find((s) => s.name === 'files')!.counters!;
    const get = printed.find((c) => c.name === 'requestsGet')!;
    expect(Object.keys(get).sort()).toEqual(['description', 'id', 'key', 'name', 'type', 'unit', 'value']);
    expect(printed.some((c) => 'prometheus' in c)).toBe(false);
    expect(exposed.get('files')!.find((c) => c.name === 'requestsGet')!.prometheus).toEqual({ name: 'requests_total', labels: { method: 'GET' }, help: expect.stringMatching(/^HTTP requests by method/) });
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
      const was = counterValue(before, again, 'connectionsTotal')!;
      return counterValue(f, again, 'connectionsTotal')! > was ? f : undefined;
    }, { timeout: 10_000, what: 'the new instance to report' });
    for (const c of counters) expect({ [c.name]: counterValue(after, again, c.name)! >= counterValue(before, smtp, c.name)! }).toEqual({ [c.name]: true });
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
