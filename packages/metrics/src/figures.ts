/**
 * What a view (the SNMP agent, `hearth status`) is given: every supervised service's row of the
 * service table and its counters, each counter with its declaration. It crosses a process
 * boundary (supervisor to the SNMP service, supervisor to the CLI), so it has one runtime check
 * here, `parseFigures`, used by every receiver.
 */
import type { CounterSpec, CounterType } from './declare.js';
import { exposureShapeProblem, type PrometheusExposure } from './prometheus.js';

export interface CounterFigure {
  readonly name: string;
  readonly id: number;
  readonly type: CounterType;
  readonly description: string;
  readonly unit: string;
  readonly key: boolean;
  readonly value: number;
  /** The declaration's Prometheus exposure, when it has one (only the Prometheus view reads it). */
  readonly prometheus?: PrometheusExposure;
}

export type ServiceRunState = 'starting' | 'running' | 'stopping' | 'stopped' | 'backoff' | 'failed';

export const SERVICE_RUN_STATES: readonly ServiceRunState[] = ['starting', 'running', 'stopping', 'stopped', 'backoff', 'failed'];

export interface ServiceFigures {
  /** The service's name in the config. */
  readonly name: string;
  /** Which Hearth service it is, or null for a plain command. */
  readonly kind: string | null;
  readonly state: ServiceRunState;
  readonly pid: number | null;
  /** Time since the current instance became ready, null unless running. */
  readonly uptimeMs: number | null;
  readonly restarts: number;
  readonly lastExit: { readonly code: number | null; readonly signal: string | null; readonly at: string } | null;
  /** Resident bytes of the running instance's process group, null when unknown. */
  readonly rssBytes: number | null;
  /** Sorted by id; empty for a service that declares none. */
  readonly counters: readonly CounterFigure[];
}

export interface FiguresSnapshot {
  /** When the figures were taken (`Date.now()` of the supervisor). */
  readonly at: number;
  readonly services: readonly ServiceFigures[];
}

/** One counter's figure from its declaration and value. */
export function counterFigure(name: string, spec: CounterSpec, value: number): CounterFigure {
  const figure = { name, id: spec.id, type: spec.type, description: spec.description, unit: spec.unit, key: spec.key === true, value };
  return spec.prometheus ? { ...figure, prometheus: spec.prometheus } : figure;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isNullableCount = (v: unknown): boolean => v === null || isCount(v);

function counterProblem(c: unknown, where: string): string | undefined {
  if (!isObj(c)) return `${where}: not an object`;
  if (typeof c['name'] !== 'string' || c['name'] === '') return `${where}: name is not a string`;
  if (!Number.isInteger(c['id']) || (c['id'] as number) < 1) return `${where}: id is not a positive integer`;
  if (c['type'] !== 'counter' && c['type'] !== 'gauge') return `${where}: type is not counter or gauge`;
  if (typeof c['description'] !== 'string' || typeof c['unit'] !== 'string') return `${where}: description or unit is not a string`;
  if (typeof c['key'] !== 'boolean') return `${where}: key is not a boolean`;
  if (!isCount(c['value'])) return `${where}: value is not a number >= 0`;
  const exposure = c['prometheus'] === undefined ? undefined : exposureShapeProblem(c['prometheus']);
  if (exposure !== undefined) return `${where}: ${exposure}`;
  return undefined;
}

function serviceProblem(s: unknown, where: string): string | undefined {
  if (!isObj(s)) return `${where}: not an object`;
  if (typeof s['name'] !== 'string' || s['name'] === '') return `${where}: name is not a string`;
  if (s['kind'] !== null && typeof s['kind'] !== 'string') return `${where}: kind is not a string or null`;
  if (!(SERVICE_RUN_STATES as readonly unknown[]).includes(s['state'])) return `${where}: unknown state ${JSON.stringify(s['state'])}`;
  for (const k of ['pid', 'uptimeMs', 'rssBytes']) if (!isNullableCount(s[k])) return `${where}: ${k} is not a number >= 0 or null`;
  if (!isCount(s['restarts'])) return `${where}: restarts is not a number >= 0`;
  const e = s['lastExit'];
  if (e !== null && (!isObj(e) || (e['code'] !== null && typeof e['code'] !== 'number') || (e['signal'] !== null && typeof e['signal'] !== 'string') || typeof e['at'] !== 'string')) {
    return `${where}: lastExit is not {code, signal, at} or null`;
  }
  if (!Array.isArray(s['counters'])) return `${where}: counters is not an array`;
  for (const [i, c] of s['counters'].entries()) {
    const p = counterProblem(c, `${where}.counters[${i}]`);
    if (p) return p;
  }
  return undefined;
}

/** Checks figures received from another process; returns them or a one-line problem. */
export function parseFigures(value: unknown): FiguresSnapshot | string {
  if (!isObj(value)) return 'figures: not an object';
  if (!isCount(value['at'])) return 'figures: at is not a time';
  if (!Array.isArray(value['services'])) return 'figures: services is not an array';
  for (const [i, s] of value['services'].entries()) {
    const p = serviceProblem(s, `figures.services[${i}]`);
    if (p) return p;
  }
  return value as unknown as FiguresSnapshot;
}
