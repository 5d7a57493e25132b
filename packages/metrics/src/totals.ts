/**
 * One service's figures as the supervisor keeps them, across its instances. Each instance reports
 * its own values since it started; the totals add them up so that a counter never goes back while
 * the supervisor runs:
 *
 *   counter = (last values of every instance that ended) + (latest values of the live instances)
 *   gauge   = sum of the live instances' latest values (an ended instance holds nothing open)
 *
 * Two instances live at once during an overlapped restart; a promoted standby is just the next
 * instance. Increments an instance made after its last report are lost with it (at most one
 * report interval), never counted twice.
 */
import type { CounterDeclaration } from './declare.js';
import type { CounterValues } from './counter-set.js';

export class CounterTotals {
  readonly #ended = new Map<string, number>();
  readonly #live = new Map<number, Map<string, number>>();

  constructor(private declaration: CounterDeclaration) {}

  /** A new declaration (the service's code changed): names it no longer has are dropped from view. */
  redeclare(declaration: CounterDeclaration): void {
    this.declaration = declaration;
  }

  /** The latest values of `instance` (its pid). Names not declared and bad values are ignored. */
  report(instance: number, values: CounterValues): void {
    let live = this.#live.get(instance);
    if (!live) this.#live.set(instance, (live = new Map()));
    for (const [name, value] of Object.entries(values)) {
      const spec = this.declaration[name];
      if (!spec || typeof value !== 'number' || !Number.isFinite(value) || value < 0) continue;
      // An instance's own counter never goes back either: keep the larger.
      live.set(name, spec.type === 'counter' ? Math.max(value, live.get(name) ?? 0) : value);
    }
  }

  /** `instance` is gone: its counters join the ended total, its gauges drop out. */
  end(instance: number): void {
    const live = this.#live.get(instance);
    if (!live) return;
    this.#live.delete(instance);
    for (const [name, value] of live) {
      if (this.declaration[name]?.type === 'counter') this.#ended.set(name, (this.#ended.get(name) ?? 0) + value);
    }
  }

  /** Every declared counter's current figure, by name (0 for what nobody reported yet). */
  values(): CounterValues {
    const out: Record<string, number> = {};
    for (const [name, spec] of Object.entries(this.declaration)) {
      let v = spec.type === 'counter' ? (this.#ended.get(name) ?? 0) : 0;
      for (const live of this.#live.values()) v += live.get(name) ?? 0;
      out[name] = v;
    }
    return out;
  }

  /** Pids whose values are counted as live. */
  instances(): readonly number[] {
    return [...this.#live.keys()];
  }
}

/** Checks a counter report's values as they arrive over IPC: a record of finite numbers >= 0. */
export function parseCounterValues(value: unknown): CounterValues | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'counter values are not an object';
  const out: Record<string, number> = {};
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return `counter ${name}: ${JSON.stringify(v)} is not a number >= 0`;
    out[name] = v;
  }
  return out;
}
