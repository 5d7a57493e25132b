/** A unit's states, what `hearth status` shows of it, and waiting for it to run. */
import type { CounterFigure } from '@hearth/metrics';
import type { ExitInfo } from '@hearth/process';
import type { ServiceConfig } from './config.js';
import type { HeldListener } from './listeners.js';

export type ServiceState = 'starting' | 'running' | 'stopping' | 'stopped' | 'backoff' | 'failed';

export interface ServiceStatus {
  readonly name: string;
  readonly type: 'service' | 'module' | 'command' | 'per-connection';
  readonly kind: string | undefined;
  readonly state: ServiceState;
  readonly pid: number | null;
  /** The warm standby's pid once it stands by (ready to take over), else null. */
  readonly standbyPid: number | null;
  /** Resident bytes of the running instance's process group (`hearth status` only), else null. */
  readonly rssBytes: number | null;
  /** Resident bytes of the warm standby's process group (`hearth status` only), else null. */
  readonly standbyRssBytes: number | null;
  readonly restarts: number;
  /** Time since the current instance became ready (running), else null. */
  readonly uptimeMs: number | null;
  readonly lastExit: { readonly code: number | null; readonly signal: string | null; readonly at: string } | null;
  /** Why the service is failed (or why the last start failed). */
  readonly reason: string | null;
  /** Its listeners; `tls` (implicit TLS) is optional: older supervisors do not report it. */
  readonly listeners: readonly { readonly name: string; readonly protocol: string; readonly address: string; readonly port: number; readonly tls?: boolean }[];
  /** The services it requires (its `requires:`). Optional: older supervisors do not report it. */
  readonly requires?: readonly string[];
  /**
   * Every counter the service declares, with its total across the service's instances (sorted
   * by id; empty for a plain command). Optional: older supervisors do not report it.
   */
  readonly counters?: readonly CounterFigure[];
}

/** A unit's state as `statusOf` needs it. */
export interface UnitSnapshot {
  readonly config: ServiceConfig;
  readonly state: ServiceState;
  /** The live current instance's pid, if any. */
  readonly pid: number | undefined;
  readonly standbyPid: number | undefined;
  readonly restarts: number;
  readonly runningSince: number | undefined;
  readonly lastExit: ExitInfo | undefined;
  readonly reason: string | undefined;
  readonly held: readonly HeldListener[];
}

export function statusOf(u: UnitSnapshot, now = Date.now()): ServiceStatus {
  const run = u.config.run;
  return {
    name: u.config.name,
    type: run.type,
    kind: run.type === 'command' || run.type === 'per-connection' ? undefined : run.kind,
    state: u.state,
    pid: u.pid ?? null,
    standbyPid: u.standbyPid ?? null,
    rssBytes: null,
    standbyRssBytes: null,
    restarts: u.restarts,
    uptimeMs: u.state === 'running' && u.runningSince !== undefined ? now - u.runningSince : null,
    lastExit: u.lastExit ? { code: u.lastExit.code, signal: u.lastExit.signal, at: new Date(u.lastExit.at).toISOString() } : null,
    reason: u.reason ?? null,
    listeners: u.held.map((l) => ({ name: l.spec.name, protocol: l.spec.protocol, address: l.spec.address, port: l.spec.port, tls: l.spec.tls })),
    requires: u.config.requires,
  };
}

/** What `untilRunning` watches. */
export interface StateSource {
  readonly name: string;
  readonly state: ServiceState;
  /** Whether the operator wants it up: false while stopped or stopping. */
  readonly wanted: boolean;
  /**
   * Whether its starts are over: it exited and its restart policy (`never`, `on-failure`) does
   * not start it again. Shown as `stopped`, though still wanted; only a start takes it out.
   */
  readonly ended: boolean;
  on(event: 'state', listener: (state: ServiceState) => void): unknown;
  off(event: 'state', listener: (state: ServiceState) => void): unknown;
}

/** Resolves once the unit is not starting: running, or its start attempt over (backoff, failed, stopped). */
export function untilSettled(unit: StateSource): Promise<void> {
  if (unit.state !== 'starting') return Promise.resolve();
  return new Promise((resolve) => {
    const on = (state: ServiceState): void => {
      if (state === 'starting') return;
      unit.off('state', on);
      resolve();
    };
    unit.on('state', on);
  });
}

/**
 * Resolves once the unit runs or its starts are over (failed, or stopped): not while it is
 * starting, nor in backoff waiting for its relaunch. What a reload waits for, of a service it
 * added, before the turn of what requires it.
 */
export function untilCameUp(unit: StateSource): Promise<void> {
  const over = (state: ServiceState): boolean => state !== 'starting' && state !== 'backoff';
  if (over(unit.state)) return Promise.resolve();
  return new Promise((resolve) => {
    const on = (state: ServiceState): void => {
      if (!over(state)) return;
      unit.off('state', on);
      resolve();
    };
    unit.on('state', on);
  });
}

/**
 * Resolves when the unit is running; rejects if it ends up failed, ended (it exited and its
 * restart policy does not start it again) or stopped (unwanted: held back, or stopped on
 * request) first: nothing starts it again while this waits.
 */
export function untilRunning(unit: StateSource): Promise<void> {
  const down = (state: ServiceState): Error | undefined => {
    if (state === 'failed') return new Error(`${unit.name} failed`);
    if (unit.ended) return new Error(`${unit.name} exited, and its restart policy does not start it again`);
    if (state === 'stopped' && !unit.wanted) return new Error(`${unit.name} stopped`);
    return undefined;
  };
  if (unit.state === 'running') return Promise.resolve();
  const now = down(unit.state);
  if (now) return Promise.reject(now);
  return new Promise((resolve, reject) => {
    const on = (state: ServiceState): void => {
      const err = state === 'running' ? undefined : down(state);
      if (state !== 'running' && !err) return;
      unit.off('state', on);
      if (err) reject(err);
      else resolve();
    };
    unit.on('state', on);
  });
}
