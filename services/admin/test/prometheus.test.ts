/**
 * The scrape job in this package's README, run by a real Prometheus (Debian's `prometheus`):
 * only the data dir in its two paths and the target's port are put in; Prometheus reads the token
 * file and the certificate itself, scrapes the admin listener over HTTPS, and its query API then
 * answers the suite's figures, a labelled family (the files service's requests by method and
 * responses by status class) summed by its labels as UPGRADING.md shows.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort, spawnTied, waitFor } from '@hearth/testkit';
import { startUp, stopAll, waitState, type Up } from '@hearth/testkit/hearth-up';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const README = fileURLToPath(new URL('../README.md', import.meta.url));

let up: Up;
let prometheus: ChildProcess;
let api: string;
let files: number;

/** The README's scrape job, as printed there (the first yaml block holding `scrape_configs:`). */
function readmeScrapeJob(): string {
  const blocks = [...readFileSync(README, 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const job = blocks.find((b) => b.startsWith('scrape_configs:'));
  if (!job) throw new Error('no scrape_configs block in the README');
  return job;
}

interface Sample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

async function query(promql: string): Promise<Sample[]> {
  const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as { status: string; data: { result: Sample[] } };
  expect(body.status).toBe('success');
  return body.data.result;
}

beforeAll(async () => {
  up = await startUp(`services:
  admin:
    service: admin
    listen: { https: { port: 0, tls: true } }
  smtp:
    service: smtp
    standby: false
    listen: { mx: { port: 0 } }
  files:
    service: files
    standby: false
    listen: { http: { address: 127.0.0.1, port: 0 } }
`);
  const port = (await waitState(up, 'admin', 'running', 20_000)).listeners[0]!.port;
  await waitState(up, 'smtp', 'running', 20_000);
  files = (await waitState(up, 'files', 'running', 20_000)).listeners[0]!.port;
  const job = readmeScrapeJob();
  expect(job).toContain('/var/lib/hearth/admin/metrics-token');
  expect(job).toContain("'127.0.0.1:2843'");
  const config = join(up.dir.path, 'prometheus.yml');
  // A scrape a second (the job sets none: Prometheus's default is a minute).
  writeFileSync(config, `global: { scrape_interval: 1s }\n${job.replaceAll('/var/lib/hearth', up.data).replace("'127.0.0.1:2843'", `'127.0.0.1:${port}'`)}`);
  const web = `127.0.0.1:${await freePort()}`;
  api = `http://${web}`;
  // Stopped with this process however it ends: a run killed before afterAll leaves no Prometheus.
  prometheus = spawnTied('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(up.dir.path, 'tsdb')}`, `--web.listen-address=${web}`], { stdio: 'ignore' });
});

afterAll(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise((resolve) => prometheus.once('exit', resolve));
    prometheus.kill('SIGTERM');
    await exited;
  }
  await stopAll();
});

describe('the README scrape job under a real Prometheus', () => {
  it('scrapes the admin listener with the token file and the certificate, and the figures can be queried', async () => {
    const target = await waitFor(
      async () => {
        const res = await fetch(`${api}/api/v1/targets`).catch(() => undefined);
        if (!res?.ok) return undefined;
        const body = (await res.json()) as { data: { activeTargets: { labels: { job: string }; health: string; lastError: string }[] } };
        const t = body.data.activeTargets.find((x) => x.labels.job === 'hearth');
        return t && t.health !== 'unknown' ? t : undefined;
      },
      { timeout: 30_000, what: 'Prometheus to scrape the hearth job' },
    );
    expect({ health: target.health, lastError: target.lastError }).toEqual({ health: 'up', lastError: '' });
    const upSamples = await query('hearth_service_up');
    expect(Object.fromEntries(upSamples.map((s) => [s.metric['service'], s.value[1]]))).toEqual({ admin: '1', smtp: '1', files: '1' });
    // The admin service counts the scrapes themselves: a later scrape shows the earlier ones.
    await waitFor(async () => Number((await query('hearth_admin_requests_total'))[0]?.value[1]) > 0, { timeout: 15_000, what: 'the counted scrapes' });
  });

  it('sums the files requests by method and the responses by status class, one labelled family each', async () => {
    // Requests without credentials (401), and POST, which WebDAV here does not serve (501): each
    // is counted by its method (POST as other), its answer by its status class.
    const sent: Record<string, number> = { GET: 1, PROPFIND: 2, other: 1 };
    const codes: Record<string, number> = {};
    for (const method of ['GET', 'PROPFIND', 'PROPFIND', 'POST']) {
      const res = await fetch(`http://127.0.0.1:${files}/`, { method });
      await res.arrayBuffer();
      const code = `${String(res.status)[0]}xx`;
      codes[code] = (codes[code] ?? 0) + 1;
    }
    const byLabel = (samples: readonly Sample[], label: string): Record<string, number> => Object.fromEntries(samples.filter((s) => s.value[1] !== '0').map((s) => [s.metric[label], Number(s.value[1])]));
    const summed = (promql: string, label: string) =>
      waitFor(
        async () => {
          const r = byLabel(await query(promql), label);
          return Object.values(r).reduce((a, b) => a + b, 0) >= 4 ? r : undefined;
        },
        { timeout: 20_000, what: `Prometheus to scrape the 4 requests: ${promql}` },
      );
    expect(await summed('sum by (method) (hearth_files_requests_total)', 'method')).toEqual(sent);
    expect(await summed('sum by (code) (hearth_files_responses_total)', 'code')).toEqual(codes);
    expect(codes).toEqual({ '4xx': 3, '5xx': 1 });
    // Every method is a series of the one family, labelled with the service.
    const series = await query('hearth_files_requests_total');
    expect(series.map((s) => s.metric['method']).sort()).toEqual(['COPY', 'DELETE', 'GET', 'HEAD', 'LOCK', 'MKCOL', 'MOVE', 'OPTIONS', 'PROPFIND', 'PROPPATCH', 'PUT', 'UNLOCK', 'other']);
    expect(new Set(series.map((s) => s.metric['service']))).toEqual(new Set(['files']));
    // The rate UPGRADING.md shows, once two scrapes saw the requests.
    const rates = await waitFor(async () => {
      const r = await query('sum by (method) (rate(hearth_files_requests_total[5m]))');
      return r.some((s) => s.metric['method'] === 'PROPFIND' && Number(s.value[1]) > 0) ? r : undefined;
    }, { timeout: 20_000, what: 'a rate of the PROPFIND requests' });
    expect(rates.map((s) => s.metric['method']).sort()).toEqual(series.map((s) => s.metric['method']).sort());
  });
});
