/**
 * A service's counters, declared once: name, type, description, unit and a number that never
 * changes. Every view (the SNMP agent, `hearth status`, a scrape endpoint) reads this declaration,
 * so a counter appears everywhere by being declared here and nowhere else.
 *
 * - A `counter` only goes up (connections accepted, bytes received): the supervisor keeps its total
 *   across restarts of the service, and SNMP serves it as a Counter64.
 * - A `gauge` is a current value (connections open, queued notices): it belongs to the running
 *   instance, starts again from what the new instance reports, and SNMP serves it as a Gauge32.
 *
 * `prometheus` (optional) is how the Prometheus view names it: a metric name and fixed labels, so
 * that declarations which differ in one dimension (requests by method) are one labelled family.
 *
 * `id` is the counter's row number in the SNMP tables (`hearthCounterIndex`, `hearthGaugeIndex`)
 * and must stay the same for the life of the service kind: never renumber or reuse one, retire it.
 */

import { exposureShapeProblem, prometheusProblems, type PrometheusExposure } from './prometheus.js';

export type CounterType = 'counter' | 'gauge';

export interface CounterSpec {
  /** Stable number, unique within the declaration, 1..2^31-1. */
  readonly id: number;
  readonly type: CounterType;
  /** One line for an admin: what is counted. */
  readonly description: string;
  /** What one unit is (`connections`, `bytes`, `datagrams`). */
  readonly unit: string;
  /** Shown in the `hearth status` table (every counter is shown by `hearth status NAME`). */
  readonly key?: boolean;
  /** How Prometheus sees it (`prometheus.ts`): a metric name and fixed labels. Absent: named after it. */
  readonly prometheus?: PrometheusExposure;
}

export type CounterDeclaration = Readonly<Record<string, CounterSpec>>;

/** The names of `D`'s counters of type `T`. */
export type NamesOf<D extends CounterDeclaration, T extends CounterType> = {
  [K in keyof D & string]: D[K]['type'] extends T ? K : never;
}[keyof D & string];

/** A counter name: a letter, then letters and digits (camelCase), at most 48 characters. */
const NAME = /^[a-z][A-Za-z0-9]{0,47}$/;
const MAX_ID = 2 ** 31 - 1;

/** Problems with a declaration, one line each (empty when it is sound). */
export function declarationProblems(declaration: CounterDeclaration): string[] {
  const problems: string[] = [];
  const ids = new Map<number, string>();
  for (const [name, spec] of Object.entries(declaration)) {
    if (!NAME.test(name)) problems.push(`counter ${JSON.stringify(name)}: the name must be camelCase letters and digits (at most 48)`);
    if (!Number.isInteger(spec.id) || spec.id < 1 || spec.id > MAX_ID) problems.push(`counter ${name}: id ${spec.id} is not an integer in 1..${MAX_ID}`);
    const other = ids.get(spec.id);
    if (other !== undefined) problems.push(`counter ${name}: id ${spec.id} is already ${other}'s`);
    ids.set(spec.id, name);
    if (spec.type !== 'counter' && spec.type !== 'gauge') problems.push(`counter ${name}: type must be counter or gauge`);
    if (spec.description.trim() === '') problems.push(`counter ${name}: the description is empty`);
    if (spec.unit.trim() === '') problems.push(`counter ${name}: the unit is empty`);
  }
  return [...problems, ...prometheusProblems(declaration)];
}

/**
 * Checks and freezes a declaration, keeping its literal type so that `CounterSet<D>` knows the
 * names. Throws (at the service's load, so a test of its manifest catches it) on any problem.
 */
export function declareCounters<const D extends CounterDeclaration>(declaration: D): D {
  const problems = declarationProblems(declaration);
  if (problems.length > 0) throw new Error(`bad counter declaration:\n  ${problems.join('\n  ')}`);
  for (const spec of Object.values(declaration)) {
    if (spec.prometheus?.labels) Object.freeze(spec.prometheus.labels);
    if (spec.prometheus) Object.freeze(spec.prometheus);
    Object.freeze(spec);
  }
  return Object.freeze(declaration);
}

/** Checks a declaration received from another process; returns it or a one-line problem. */
export function parseDeclaration(value: unknown): CounterDeclaration | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'counter declaration is not an object';
  for (const [name, spec] of Object.entries(value as Record<string, unknown>)) {
    if (spec === null || typeof spec !== 'object') return `counter ${name}: not an object`;
    const s = spec as Record<string, unknown>;
    if (typeof s['id'] !== 'number' || typeof s['type'] !== 'string' || typeof s['description'] !== 'string' || typeof s['unit'] !== 'string') {
      return `counter ${name}: id, type, description and unit are required`;
    }
    if (s['key'] !== undefined && typeof s['key'] !== 'boolean') return `counter ${name}: key is not a boolean`;
    const exposure = s['prometheus'] === undefined ? undefined : exposureShapeProblem(s['prometheus']);
    if (exposure !== undefined) return `counter ${name}: ${exposure}`;
  }
  const problems = declarationProblems(value as CounterDeclaration);
  return problems.length > 0 ? problems[0]! : (value as CounterDeclaration);
}

/** A declaration as a list sorted by id: the order every view shows counters in. */
export function describeCounters(declaration: CounterDeclaration): readonly (CounterSpec & { readonly name: string })[] {
  return Object.entries(declaration)
    .map(([name, spec]) => ({ name, ...spec }))
    .sort((a, b) => a.id - b.id);
}
