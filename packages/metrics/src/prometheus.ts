/**
 * How a declared counter is exposed to Prometheus (the admin service's `/metrics`): as the metric
 * `hearth_<kind>_<name>`, with the label `service` and the exposure's fixed labels. Without an
 * exposure the name is the counter's in snake_case, `_total` added to a counter that lacks it
 * (`connectionsOpen` as `connections_open`, `messagesReceived` as `messages_received_total`).
 *
 * Several declarations exposed under one name are one family told apart by their labels (the
 * files service's `requestsGet`, `requestsPut`... as `requests_total{method="GET"}`...), as
 * Prometheus' naming practices ask for one dimension; they share one type, one help and one set
 * of label names (and a unit, when it is bytes or seconds). A unit of `bytes` or `seconds` ends the name (`received_bytes_total`),
 * as those practices ask too. Only the Prometheus view reads this: the names, ids and units that
 * `hearth status` and the SNMP agent show stay the declaration's own.
 */
import type { CounterDeclaration, CounterSpec, CounterType } from './declare.js';

export interface PrometheusExposure {
  /** The metric's name after `hearth_<kind>_`, in snake_case: a counter's ends in `_total`, a gauge's does not. */
  readonly name: string;
  /** Fixed labels of this declaration's samples (`{ method: 'GET' }`); `service` is the renderer's own. */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * The family's help: what the whole family counts (every member gives the same text). Required
   * when several declarations share the name; else the description and unit (`Bytes sent (bytes)`).
   */
  readonly help?: string;
}

/** `fooBarBaz` (a counter's name, camelCase) as `foo_bar_baz`. */
export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2').toLowerCase();
}

/** The metric name after `hearth_<kind>_` of the counter `name`, from its exposure or the rule above. */
export function prometheusName(name: string, spec: Pick<CounterSpec, 'type' | 'prometheus'>): string {
  if (spec.prometheus) return spec.prometheus.name;
  const snake = snakeCase(name);
  return spec.type === 'counter' && !snake.endsWith('_total') ? `${snake}_total` : snake;
}

/** The help of the counter's family: its exposure's, or its description and unit. */
export function prometheusHelp(spec: Pick<CounterSpec, 'description' | 'unit' | 'prometheus'>): string {
  return spec.prometheus?.help ?? `${spec.description} (${spec.unit})`;
}

const NAME = /^[a-z][a-z0-9_]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Units Prometheus writes in a name, and the scaled ones it asks to give in those instead. */
const BASE_UNITS: readonly string[] = ['bytes', 'seconds'];
const SCALED_UNITS: Readonly<Record<string, string>> = { milliseconds: 'seconds', microseconds: 'seconds', kilobytes: 'bytes', megabytes: 'bytes' };

/** A family's name in OpenMetrics (a counter's without its `_total`): two families must differ in it. */
const familyOf = (name: string, type: CounterType): string => (type === 'counter' ? name.replace(/_total$/, '') : name);

/** Problems with one counter's exposure (or with its default name), one line each. */
function exposureProblems(name: string, spec: CounterSpec): string[] {
  const problems: string[] = [];
  const where = `counter ${name}`;
  const exposed = prometheusName(name, spec);
  if (spec.prometheus) {
    if (!NAME.test(exposed)) problems.push(`${where}: the Prometheus name ${JSON.stringify(exposed)} must be snake_case (lower-case letters, digits and _)`);
    if (spec.type === 'counter' && !exposed.endsWith('_total')) problems.push(`${where}: the Prometheus name ${exposed} of a counter must end in _total`);
    if (spec.type === 'gauge' && exposed.endsWith('_total')) problems.push(`${where}: the Prometheus name ${exposed} of a gauge must not end in _total`);
    for (const [label, value] of Object.entries(spec.prometheus.labels ?? {})) {
      if (!LABEL.test(label) || label.startsWith('__')) problems.push(`${where}: the Prometheus label ${JSON.stringify(label)} must be letters, digits and _, not starting with __`);
      if (label === 'service') problems.push(`${where}: the Prometheus label service is the renderer's (the service's name in the config)`);
      if (value === '') problems.push(`${where}: the Prometheus label ${label} is empty`);
    }
    if (spec.prometheus.help !== undefined && spec.prometheus.help.trim() === '') problems.push(`${where}: the Prometheus help is empty`);
  }
  const scaled = SCALED_UNITS[spec.unit];
  if (scaled) problems.push(`${where}: Prometheus takes ${scaled}, not ${spec.unit}: count in ${scaled}`);
  const stem = spec.type === 'counter' ? exposed.replace(/_total$/, '') : exposed;
  if (BASE_UNITS.includes(spec.unit) && !stem.endsWith(`_${spec.unit}`)) {
    problems.push(`${where}: its unit is ${spec.unit}, so its Prometheus name must end in _${spec.unit}${spec.type === 'counter' ? '_total' : ''} (${exposed}; give prometheus.name)`);
  }
  return problems;
}

const sameKeys = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean =>
  Object.keys(a).sort().join(',') === Object.keys(b).sort().join(',');

const labelsText = (labels: Readonly<Record<string, string>>): string =>
  `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',')}}`;

/**
 * Problems with how a declaration is exposed to Prometheus: each exposure on its own, then each
 * family (the declarations sharing a name) as a whole, then families that would collide.
 */
export function prometheusProblems(declaration: CounterDeclaration): string[] {
  const problems: string[] = [];
  const families = new Map<string, [string, CounterSpec][]>();
  for (const [name, spec] of Object.entries(declaration)) {
    problems.push(...exposureProblems(name, spec));
    const exposed = prometheusName(name, spec);
    families.set(exposed, [...(families.get(exposed) ?? []), [name, spec]]);
  }
  const openMetricsNames = new Map<string, string>();
  for (const [exposed, members] of families) {
    const [firstName, first] = members[0]!;
    const labels = first.prometheus?.labels ?? {};
    const seen = new Map<string, string>();
    for (const [name, spec] of members) {
      const own = spec.prometheus?.labels ?? {};
      const where = `counter ${name}: in the Prometheus family ${exposed} with ${firstName}`;
      if (spec.type !== first.type) problems.push(`${where}, it must be a ${first.type} too`);
      const counted = [spec.unit, first.unit].filter((u) => BASE_UNITS.includes(u));
      if (counted.length > 0 && spec.unit !== first.unit) problems.push(`${where}, its unit must be ${first.unit} too`);
      if (!sameKeys(own, labels)) problems.push(`${where}, its labels must be ${Object.keys(labels).sort().join(', ') || 'none'} too`);
      if (members.length > 1 && spec.prometheus?.help === undefined) problems.push(`${where}, it needs the family's help (prometheus.help)`);
      else if (spec.prometheus?.help !== first.prometheus?.help) problems.push(`${where}, its help must be the same`);
      const key = labelsText(own);
      const twin = seen.get(key);
      if (twin !== undefined) problems.push(`counter ${name}: the Prometheus family ${exposed} already has ${twin} with the labels ${key}`);
      seen.set(key, name);
    }
    const family = familyOf(exposed, first.type);
    const other = openMetricsNames.get(family);
    if (other !== undefined) problems.push(`counter ${firstName}: its Prometheus family ${exposed} collides with ${other} (both are ${family} in OpenMetrics)`);
    openMetricsNames.set(family, exposed);
  }
  return problems;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Checks an exposure received from another process (its shape; `prometheusProblems` its sense). */
export function exposureShapeProblem(value: unknown): string | undefined {
  if (!isObj(value)) return 'prometheus is not an object';
  if (typeof value['name'] !== 'string') return 'prometheus.name is not a string';
  const labels = value['labels'];
  if (labels !== undefined && (!isObj(labels) || Object.values(labels).some((v) => typeof v !== 'string'))) return 'prometheus.labels is not an object of strings';
  if (value['help'] !== undefined && typeof value['help'] !== 'string') return 'prometheus.help is not a string';
  return undefined;
}
