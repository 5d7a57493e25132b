/**
 * Every service's counters as the supervisor keeps them, and the figures it hands to views.
 *
 * - An instance's `counters` report (its values since it started; its first report also carries
 *   the service's declaration) goes into that service's `CounterTotals`, keyed by pid; when the
 *   instance exits its counters join the service's total. So a counter never goes back while the
 *   supervisor runs: not across restarts, kill -9, standby promotions, overlapped restarts or
 *   reloads. A service removed by a reload leaves the views; its totals are kept aside, and a
 *   service of that name configured again with the same declaration goes on from them (the SNMP
 *   agent gives it its old row: a Counter64 that went back there would read as a wrap).
 * - `status` rows get the service's counters; `snapshot` makes the `FiguresSnapshot` that goes
 *   to the subscribers of `hearth.figures` (the SNMP agent): soon after each report, and once a
 *   second for uptimes and memory (`FiguresPublisher`).
 */
import type { Logger } from '@hearth/log';
import { CounterTotals, counterFigure, describeCounters, parseCounterValues, parseDeclaration, type CounterDeclaration, type CounterFigure, type FiguresSnapshot } from '@hearth/metrics';
import type { ServiceStatus } from './status.js';

/** The topic the figures are published on; a service subscribes to get them. */
export const FIGURES_TOPIC = 'hearth.figures';
/** How often subscribers get figures with a fresh memory scan (and uptimes). */
export const FIGURES_INTERVAL_MS = 1000;
/** The shortest time between two rounds started by changes. */
export const FIGURES_COALESCE_MS = 100;
/** How many removed services' totals are kept aside (the oldest removed is dropped first). */
const RETIRED_MAX = 256;

interface Kept {
  declaration: CounterDeclaration;
  readonly totals: CounterTotals;
}

export class FiguresHub {
  readonly #services = new Map<string, Kept>();
  /** Removed services' totals, by name, in the order they were removed. */
  readonly #retired = new Map<string, Kept>();
  readonly #complained = new Set<string>();

  constructor(
    private readonly log: Logger,
    /** Called after each report taken in (the publisher sends the figures on). */
    private readonly changed: () => void = () => {},
  ) {}

  /** A `counters` message from instance `pid` of `service`. */
  report(service: string, pid: number, message: { readonly values?: unknown; readonly declaration?: unknown }): void {
    let kept = this.#services.get(service);
    if (message.declaration !== undefined) {
      const declaration = parseDeclaration(message.declaration);
      if (typeof declaration === 'string') return this.#complain(service, declaration);
      if (kept) {
        kept.declaration = declaration;
        kept.totals.redeclare(declaration);
      } else this.#services.set(service, (kept = this.#revive(service, declaration) ?? { declaration, totals: new CounterTotals(declaration) }));
    }
    if (!kept) return this.#complain(service, 'counter values before any declaration');
    const values = parseCounterValues(message.values);
    if (typeof values === 'string') return this.#complain(service, values);
    kept.totals.report(pid, values);
    this.changed();
  }

  /** Instance `pid` of `service` exited: its counters stay in the total, its gauges drop out. */
  ended(service: string, pid: number | undefined): void {
    if (pid !== undefined) this.#services.get(service)?.totals.end(pid);
  }

  /** Services no longer configured (a reload removed them) leave the views; their totals are kept aside. */
  keepOnly(names: Iterable<string>): void {
    const keep = new Set(names);
    for (const [name, kept] of [...this.#services]) {
      if (keep.has(name)) continue;
      this.#services.delete(name);
      // Its instances are gone: their counters join the total, their gauges drop out.
      for (const pid of kept.totals.instances()) kept.totals.end(pid);
      this.#retired.delete(name);
      this.#retired.set(name, kept);
      if (this.#retired.size > RETIRED_MAX) this.#retired.delete(this.#retired.keys().next().value!);
    }
  }

  /** The totals of a removed service of this name, if it declared the same counters. */
  #revive(service: string, declaration: CounterDeclaration): Kept | undefined {
    const retired = this.#retired.get(service);
    if (!retired) return undefined;
    this.#retired.delete(service);
    return JSON.stringify(describeCounters(retired.declaration)) === JSON.stringify(describeCounters(declaration)) ? retired : undefined;
  }

  /** The service's counters with their totals, sorted by id (empty when it reported none). */
  counters(service: string): CounterFigure[] {
    const kept = this.#services.get(service);
    if (!kept) return [];
    const values = kept.totals.values();
    return describeCounters(kept.declaration).map((c) => counterFigure(c.name, c, values[c.name] ?? 0));
  }

  /** Status rows with their counters. */
  withCounters(rows: readonly ServiceStatus[]): ServiceStatus[] {
    return rows.map((r) => ({ ...r, counters: this.counters(r.name) }));
  }

  /** What a view is given: each row of the service table and its counters. */
  snapshot(rows: readonly ServiceStatus[], at = Date.now()): FiguresSnapshot {
    return {
      at,
      services: rows.map((r) => ({
        name: r.name,
        kind: r.kind ?? null,
        state: r.state,
        pid: r.pid,
        uptimeMs: r.uptimeMs,
        restarts: r.restarts,
        lastExit: r.lastExit,
        rssBytes: r.rssBytes,
        counters: r.counters ?? this.counters(r.name),
      })),
    };
  }

  #complain(service: string, problem: string): void {
    if (this.#complained.has(service)) return;
    this.#complained.add(service);
    this.log.warn({ service, problem }, 'counter report refused');
  }
}

/** How a round takes the service table: a fresh /proc scan for memory, or the last one's figures. */
export type MemoryScan = 'scan' | 'last';

/**
 * Sends figures to every instance subscribed to `hearth.figures` while there is one (no
 * subscriber, no work): once per interval with a fresh memory scan (uptimes, memory), and soon
 * after anything changed (`changed`: a counter report, a state change) with the last scan's
 * memory. Changes are coalesced: a round starts at once if the last one started at least
 * `coalesceMs` ago, else when that much has passed, so a burst of reports from many services
 * gives at most one snapshot per `coalesceMs`. A figure reaches the subscribers within
 * `coalesceMs` of reaching the supervisor. No timer keeps the supervisor alive.
 */
export class FiguresPublisher {
  #timer: NodeJS.Timeout | undefined;
  /** The round a change asked for, when it waits for `coalesceMs` to pass. */
  #soon: NodeJS.Timeout | undefined;
  #state: { kind: 'idle' } | { kind: 'busy'; again: MemoryScan | undefined } | { kind: 'stopped' } = { kind: 'idle' };
  #lastStart = -Infinity;

  constructor(
    private readonly figures: (memory: MemoryScan) => Promise<FiguresSnapshot>,
    private readonly subscribers: () => readonly { send(message: { t: 'msg'; from: string; topic: string; payload: unknown }): boolean }[],
    private readonly log: Logger,
    private readonly intervalMs = FIGURES_INTERVAL_MS,
    private readonly coalesceMs = FIGURES_COALESCE_MS,
  ) {}

  start(): void {
    this.#timer ??= setInterval(() => void this.publish('scan'), this.intervalMs).unref();
  }

  /** Something the figures show changed: a round within `coalesceMs`. */
  changed(): void {
    if (this.#soon || this.#state.kind === 'stopped' || this.subscribers().length === 0) return;
    const wait = this.#lastStart + this.coalesceMs - performance.now();
    if (wait <= 0) return void this.publish('last');
    // A timer may fire up to a millisecond early (the loop's clock is read in whole milliseconds):
    // the callback looks again and waits out what is left.
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      this.changed();
    }, Math.ceil(wait)).unref();
  }

  /** One round now; while the previous one still runs, one more right after it. */
  async publish(memory: MemoryScan = 'scan'): Promise<void> {
    if (this.#state.kind === 'stopped' || this.subscribers().length === 0) return;
    if (this.#state.kind === 'busy') {
      this.#state.again = this.#state.again === 'scan' ? 'scan' : memory;
      return;
    }
    this.#state = { kind: 'busy', again: undefined };
    this.#lastStart = performance.now();
    try {
      const payload = await this.figures(memory);
      for (const s of this.subscribers()) s.send({ t: 'msg', from: 'supervisor', topic: FIGURES_TOPIC, payload });
    } catch (err) {
      this.log.error({ err }, 'figures not published');
    } finally {
      const state = this.#state;
      if (state.kind === 'busy') {
        this.#state = { kind: 'idle' };
        if (state.again) void this.publish(state.again);
      }
    }
  }

  stop(): void {
    this.#state = { kind: 'stopped' };
    if (this.#timer) clearInterval(this.#timer);
    if (this.#soon) clearTimeout(this.#soon);
    this.#timer = undefined;
    this.#soon = undefined;
  }
}
