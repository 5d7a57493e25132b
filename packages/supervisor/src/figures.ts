/**
 * Every service's counters as the supervisor keeps them, and the figures it hands to views.
 *
 * - An instance's `counters` report (its values since it started; its first report also carries
 *   the service's declaration) goes into that service's `CounterTotals`, keyed by pid; when the
 *   instance exits its counters join the service's total. So a counter never goes back while the
 *   supervisor runs: not across restarts, kill -9, standby promotions, overlapped restarts or
 *   reloads. A service removed by a reload is forgotten.
 * - `status` rows get the service's counters; `snapshot` makes the `FiguresSnapshot` that goes
 *   to the subscribers of `hearth.figures` (the SNMP agent) once a second.
 */
import type { Logger } from '@hearth/log';
import { CounterTotals, counterFigure, describeCounters, parseCounterValues, parseDeclaration, type CounterDeclaration, type CounterFigure, type FiguresSnapshot } from '@hearth/metrics';
import type { ServiceStatus } from './status.js';

/** The topic the figures are published on; a service subscribes to get them. */
export const FIGURES_TOPIC = 'hearth.figures';
/** How often subscribers get figures (they are never older than this). */
export const FIGURES_INTERVAL_MS = 1000;

interface Kept {
  declaration: CounterDeclaration;
  readonly totals: CounterTotals;
}

export class FiguresHub {
  readonly #services = new Map<string, Kept>();
  readonly #complained = new Set<string>();

  constructor(private readonly log: Logger) {}

  /** A `counters` message from instance `pid` of `service`. */
  report(service: string, pid: number, message: { readonly values?: unknown; readonly declaration?: unknown }): void {
    let kept = this.#services.get(service);
    if (message.declaration !== undefined) {
      const declaration = parseDeclaration(message.declaration);
      if (typeof declaration === 'string') return this.#complain(service, declaration);
      if (kept) {
        kept.declaration = declaration;
        kept.totals.redeclare(declaration);
      } else this.#services.set(service, (kept = { declaration, totals: new CounterTotals(declaration) }));
    }
    if (!kept) return this.#complain(service, 'counter values before any declaration');
    const values = parseCounterValues(message.values);
    if (typeof values === 'string') return this.#complain(service, values);
    kept.totals.report(pid, values);
  }

  /** Instance `pid` of `service` exited: its counters stay in the total, its gauges drop out. */
  ended(service: string, pid: number | undefined): void {
    if (pid !== undefined) this.#services.get(service)?.totals.end(pid);
  }

  /** Services no longer configured (a reload removed them) are forgotten. */
  keepOnly(names: Iterable<string>): void {
    const keep = new Set(names);
    for (const name of [...this.#services.keys()]) if (!keep.has(name)) this.#services.delete(name);
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

/**
 * Sends figures to every instance subscribed to `hearth.figures`, once per interval, while there
 * is one (no subscriber, no work: the status scan reads /proc). The timer never keeps the
 * supervisor alive.
 */
export class FiguresPublisher {
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(
    private readonly figures: () => Promise<FiguresSnapshot>,
    private readonly subscribers: () => readonly { send(message: { t: 'msg'; from: string; topic: string; payload: unknown }): boolean }[],
    private readonly log: Logger,
    private readonly intervalMs = FIGURES_INTERVAL_MS,
  ) {}

  start(): void {
    this.#timer ??= setInterval(() => void this.publish(), this.intervalMs).unref();
  }

  /** One round now (also what the timer does); skipped while the previous one still runs. */
  async publish(): Promise<void> {
    if (this.#busy || this.subscribers().length === 0) return;
    this.#busy = true;
    try {
      const payload = await this.figures();
      for (const s of this.subscribers()) s.send({ t: 'msg', from: 'supervisor', topic: FIGURES_TOPIC, payload });
    } catch (err) {
      this.log.error({ err }, 'figures not published');
    } finally {
      this.#busy = false;
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
