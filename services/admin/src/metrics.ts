/**
 * `GET /metrics`: the service table and every service's counters in the OpenMetrics text format
 * (for a scraper that asks for it, as Prometheus does) or the Prometheus text format 0.0.4,
 * rendered with prom-client from the rows the supervisor's `status` verb answers (what `hearth
 * status --json` prints, there without each counter's Prometheus exposure, and what the SNMP
 * agent's figures are made of).
 *
 * Names, all under `hearth_`:
 * - the service table, one sample per service (label `service`, the name in the config):
 *   `hearth_service_info{service,kind,type}` 1, `hearth_service_up` (1 when running),
 *   `hearth_service_state{service,state}` (1 for the current state, 0 for the others),
 *   `hearth_service_restarts_total`, `hearth_service_memory_bytes` and
 *   `hearth_service_standby_memory_bytes` (resident bytes of the process group; absent while
 *   unknown), `hearth_service_uptime_seconds` (absent unless running);
 * - each declared counter as `hearth_<kind>_<its Prometheus name>{service}` (`counterMetricName`),
 *   a Counter or a Gauge as declared: the name and any fixed labels its declaration's `prometheus`
 *   gives (the files service's requests as `hearth_files_requests_total{service,method}`), else
 *   its name in snake_case, `_total` added to a counter's; the help is the family's (or the
 *   description and unit). A counter's family name drops the `_total` (OpenMetrics puts it on the
 *   samples: `hearth_smtp_messages_received_total`; the text format names the family as its
 *   samples).
 *
 * Access (`metricsAccess`): with a token, only `Authorization: Bearer TOKEN` is served; without
 * one, only loopback peers are.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { Counter, Gauge, Registry, type OpenMetricsContentType, type PrometheusContentType } from 'prom-client';
import { SERVICE_RUN_STATES, prometheusHelp, prometheusName, type CounterFigure, type ServiceRunState } from '@hearth/metrics';

/** One service's row, as the control socket's `status` answers it (or a `ServiceFigures`). */
export interface MetricsRow {
  readonly name: string;
  readonly type?: string;
  readonly kind?: string | null | undefined;
  readonly state: ServiceRunState;
  readonly restarts: number;
  readonly uptimeMs: number | null;
  readonly rssBytes: number | null;
  readonly standbyRssBytes?: number | null;
  readonly counters?: readonly CounterFigure[];
}

/** The media type of an OpenMetrics 1.0 answer (what Prometheus asks for). */
export const METRICS_CONTENT_TYPE = Registry.OPENMETRICS_CONTENT_TYPE;

/** The media type of a Prometheus text format 0.0.4 answer (the default, as node_exporter's). */
export const METRICS_TEXT_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

export type MetricsFormat = 'openmetrics' | 'text';

/**
 * The format a scraper's `Accept` asks for, as Prometheus's own client library negotiates it: the
 * media ranges by preference (q, then order), the first that is `application/openmetrics-text`
 * or `text/plain` decides; anything else (no Accept, any type, protobuf only) gets the text format, which
 * every Prometheus tool reads (`promtool check metrics` reads only that one).
 */
export function negotiateMetricsFormat(accept: string | undefined): MetricsFormat {
  const ranges = (accept ?? '')
    .split(',')
    .map((part, order) => {
      const [type = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
      const q = params.map((p) => /^q=([0-9.]+)$/.exec(p)?.[1]).find((v) => v !== undefined);
      return { type, q: q === undefined ? 1 : Number(q), order };
    })
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q || a.order - b.order);
  for (const r of ranges) {
    if (r.type === 'application/openmetrics-text') return 'openmetrics';
    if (r.type === 'text/plain') return 'text';
  }
  return 'text';
}

/** A kind or config name as a metric name part: letters, digits and `_` only. */
function namePart(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/**
 * The name of a declared counter's samples, of a service of `kind`: `hearth_<kind>_` and its
 * Prometheus name (`prometheusName` of @hearth/metrics: its exposure's, else its own in snake
 * case; a counter's ends in `_total`).
 */
export function counterMetricName(kind: string, counter: Pick<CounterFigure, 'name' | 'type' | 'prometheus'>): string {
  return `hearth_${namePart(kind)}_${prometheusName(counter.name, counter)}`;
}

type Family =
  | { readonly type: 'counter'; readonly owner: string; readonly labelNames: string; readonly metric: Counter<string> }
  | { readonly type: 'gauge'; readonly owner: string; readonly labelNames: string; readonly metric: Gauge<string> };

/** The owner of the service table's families (a kind's are `kind NAME`). */
const TABLE = 'table';

/** A registry made for one scrape: families are created as the rows name them. */
class Scrape {
  readonly registry: Registry<OpenMetricsContentType | PrometheusContentType>;
  readonly #families = new Map<string, Family>();

  constructor(format: MetricsFormat) {
    this.registry = new Registry<OpenMetricsContentType | PrometheusContentType>();
    this.registry.setContentType(format === 'openmetrics' ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE);
  }

  /**
   * The family of the samples `name` (a counter's ends in `_total`: the text format names the
   * family so, and prom-client's OpenMetrics drops it from the family and keeps it on the
   * samples). The first to make a family owns it: the service table, or one kind (two kinds whose
   * names collide once sanitised, a kind's counter named as a table's family). Another owner, type
   * or set of labels gets nothing, and its samples are left out rather than mixed in.
   */
  family(owner: string, type: 'counter' | 'gauge', name: string, help: string, labelNames: readonly string[]): Family | undefined {
    const key = type === 'counter' ? name.replace(/_total$/, '') : name;
    const labels = [...labelNames].sort().join(',');
    const known = this.#families.get(key);
    if (known) return known.owner === owner && known.type === type && known.labelNames === labels ? known : undefined;
    const options = { name, help, labelNames, registers: [this.registry] };
    const family: Family = type === 'counter' ? { type, owner, labelNames: labels, metric: new Counter(options) } : { type, owner, labelNames: labels, metric: new Gauge(options) };
    this.#families.set(key, family);
    return family;
  }

  set(owner: string, type: 'counter' | 'gauge', name: string, help: string, labels: Record<string, string>, value: number): void {
    const family = this.family(owner, type, name, help, Object.keys(labels));
    if (!family) return;
    if (family.type === 'counter') family.metric.inc(labels, value);
    else family.metric.set(labels, value);
  }
}

/**
 * The text for `rows`: OpenMetrics (ends with `# EOF`), or the Prometheus text format 0.0.4. The
 * samples are the same in both (`hearth_smtp_connections_total`); only a counter family's name in
 * `# HELP` and `# TYPE` differs (OpenMetrics names it without `_total`).
 */
export async function renderMetrics(rows: readonly MetricsRow[], format: MetricsFormat = 'openmetrics'): Promise<string> {
  const scrape = new Scrape(format);
  const table = (type: 'counter' | 'gauge', name: string, help: string, labels: Record<string, string>, value: number): void =>
    scrape.set(TABLE, type, name, help, labels, value);
  // The table's families exist even with no service, so a scrape always names them.
  scrape.family(TABLE, 'gauge', 'hearth_service_up', 'Whether the service is running (1) or not (0)', ['service']);
  for (const row of rows) {
    const service = { service: row.name };
    table('gauge', 'hearth_service_info', 'The service, its kind (empty for a plain command) and how it runs', { service: row.name, kind: row.kind ?? '', type: row.type ?? '' }, 1);
    table('gauge', 'hearth_service_up', 'Whether the service is running (1) or not (0)', service, row.state === 'running' ? 1 : 0);
    for (const state of SERVICE_RUN_STATES) {
      table('gauge', 'hearth_service_state', 'The service state: 1 for the current one', { service: row.name, state }, row.state === state ? 1 : 0);
    }
    table('counter', 'hearth_service_restarts_total', 'Restarts of the service since hearth up started', service, row.restarts);
    if (row.rssBytes !== null) table('gauge', 'hearth_service_memory_bytes', 'Resident memory of the running instance and its process group', service, row.rssBytes);
    if (row.standbyRssBytes !== undefined && row.standbyRssBytes !== null) {
      table('gauge', 'hearth_service_standby_memory_bytes', 'Resident memory of the warm standby and its process group', service, row.standbyRssBytes);
    }
    if (row.uptimeMs !== null) table('gauge', 'hearth_service_uptime_seconds', 'Time since the running instance became ready', service, row.uptimeMs / 1000);
    if (!row.kind) continue;
    for (const c of row.counters ?? []) {
      // `service` first and last: the declaration's labels never replace it (@hearth/metrics refuses one named so).
      const labels = { ...service, ...c.prometheus?.labels, service: row.name };
      scrape.set(`kind ${row.kind}`, c.type, counterMetricName(row.kind, c), prometheusHelp(c), labels, c.value);
    }
  }
  return scrape.registry.metrics();
}

/** Who may scrape: the bearer token (from the data dir), or loopback peers when there is none. */
export type MetricsAuth = { readonly kind: 'token'; readonly token: string } | { readonly kind: 'loopback' };

export type MetricsAccess =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: 401 | 403; readonly headers: Readonly<Record<string, string>>; readonly reason: string };

/** Whether `address` (a socket's remoteAddress) is a loopback address, IPv4, IPv6 or v4-mapped. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return address === '::1';
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Decides a scrape request from its `Authorization` header and peer address. */
export function metricsAccess(auth: MetricsAuth, authorization: string | undefined, remoteAddress: string | undefined): MetricsAccess {
  if (auth.kind === 'loopback') {
    return isLoopback(remoteAddress) ? { ok: true } : { ok: false, status: 403, headers: {}, reason: 'metrics are served to loopback peers only' };
  }
  const challenge = { 'www-authenticate': 'Bearer realm="hearth metrics"' };
  const m = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
  if (!m) return { ok: false, status: 401, headers: challenge, reason: 'a bearer token is required' };
  // Compared as digests: equal lengths, constant time.
  if (!timingSafeEqual(digest(m[1]!), digest(auth.token))) {
    return { ok: false, status: 401, headers: { 'www-authenticate': 'Bearer realm="hearth metrics", error="invalid_token"' }, reason: 'wrong bearer token' };
  }
  return { ok: true };
}
