/**
 * A service instance's live counters, typed by its declaration: `inc` only for counters, `set`
 * and `add` only for gauges. Values are plain numbers (exact up to 2^53). `version` changes with
 * every change, so a reporter can tell whether anything is new since it last sent.
 */
import type { CounterDeclaration, NamesOf } from './declare.js';

export type CounterValues = Readonly<Record<string, number>>;

export class CounterSet<D extends CounterDeclaration> {
  /** A cell per declared name: a change is one lookup (services count on every request). */
  readonly #cells = new Map<string, { value: number }>();
  #version = 0;

  constructor(readonly declaration: D) {
    for (const name of Object.keys(declaration)) this.#cells.set(name, { value: 0 });
  }

  /** Adds `by` (a non-negative integer) to a counter. */
  inc(name: NamesOf<D, 'counter'>, by = 1): void {
    if (!(by > 0) || !Number.isFinite(by)) return;
    const cell = this.#cells.get(name);
    if (cell === undefined) return;
    cell.value += Math.floor(by);
    this.#version++;
  }

  /** Sets a gauge (negative or non-finite values become 0). */
  set(name: NamesOf<D, 'gauge'>, value: number): void {
    const cell = this.#cells.get(name);
    if (cell === undefined) return;
    const v = Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
    if (cell.value === v) return;
    cell.value = v;
    this.#version++;
  }

  /** Moves a gauge by `delta` (never below 0). */
  add(name: NamesOf<D, 'gauge'>, delta: number): void {
    this.set(name, this.get(name) + delta);
  }

  get(name: keyof D & string): number {
    return this.#cells.get(name)?.value ?? 0;
  }

  /** Increases with every change. */
  get version(): number {
    return this.#version;
  }

  /** Every value, by name. */
  snapshot(): CounterValues {
    const values: Record<string, number> = {};
    for (const [name, cell] of this.#cells) values[name] = cell.value;
    return values;
  }
}

/** What a reporter reads: a `CounterSet`, or anything with a change version and a snapshot. */
export interface CounterSource {
  /** Changes whenever a value changes. */
  readonly version: number;
  snapshot(): CounterValues;
}

/**
 * A `CounterSource` over values a service already keeps its own way (a stats object): `read` is
 * called when a reporter looks (once per interval), the declared names are picked from it, and
 * the version changes when any of them did.
 */
export function polledCounters(declaration: CounterDeclaration, read: () => Readonly<Record<string, number>>): CounterSource {
  const names = Object.keys(declaration);
  let version = 0;
  let last: Record<string, number> | undefined;
  const take = (): Record<string, number> => {
    const now = read();
    return Object.fromEntries(names.map((n) => [n, now[n] ?? 0]));
  };
  return {
    get version() {
      const now = take();
      if (!last || names.some((n) => now[n] !== last![n])) {
        last = now;
        version++;
      }
      return version;
    },
    snapshot: () => (last ??= take()),
  };
}

/**
 * `set` read through `refresh`, which brings its values up to date (from what the service counts
 * its own way: bytes of open sockets, rows of a file) each time a reporter reads the version or
 * the snapshot, instead of at every change.
 */
export function refreshedCounters(set: CounterSource, refresh: () => void): CounterSource {
  return {
    get version() {
      refresh();
      return set.version;
    },
    snapshot() {
      refresh();
      return set.snapshot();
    },
  };
}

/** Something that can send a snapshot; false when it could not (the next tick tries again). */
export type ReportSink = (values: CounterValues) => boolean;

/**
 * Sends a set's values at most once per `intervalMs`, and only when they changed since the last
 * send that succeeded. The timer never keeps the process alive; `flush` sends at once if changed
 * (at stop, so the last increments reach the supervisor).
 */
export class CounterReporter {
  #sent = -1;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly set: CounterSource,
    private readonly sink: ReportSink,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.flush(), this.intervalMs).unref();
  }

  flush(): void {
    const version = this.set.version;
    if (version === this.#sent) return;
    if (this.sink(this.set.snapshot())) this.#sent = version;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
