/**
 * `hearth stop NAME`, `hearth start NAME` and `hearth restart --all` along the service graph: a
 * stop first stops what requires NAME and is up, a start first starts what NAME requires and is
 * not running, as systemd's Requires= and s6-rc do, then what `hearth up` held back for the
 * services it brought up; `restart --all` goes in dependency order. `Supervisor` runs them with
 * its units (`WalkScope`).
 */
import type { RestartAllResult, StartedWith, StoppedWith } from './control-protocol.js';
import { dependentsOf } from './graph.js';
import type { Dependent } from './graph.js';
import { startHeldBack, stopInOrder } from './ordered.js';
import type { HeldBackScope } from './ordered.js';
import type { ServiceState } from './status.js';
import { which } from './control-protocol.js';
import type { ServiceUnit } from './unit.js';

/** The states of a service that `hearth stop` of a service it requires stops (it runs, or is coming up). */
export const UP_STATES: ReadonlySet<ServiceState> = new Set(['starting', 'running', 'backoff']);

/** What the walks work on: the supervisor's units and what it does for them (`startUnits`: in dependency order). */
export interface WalkScope extends HeldBackScope {
  /** The `hearth stop`s under way, by each service they stop; a start of one of these waits for it. */
  readonly stops: Map<string, Promise<unknown>>;
  /** Starts or restarts one unit, binding first the listeners it let go of at a stop. */
  startOne(name: string, how: 'start' | 'restart'): Promise<void>;
  /** In the supervisor's turn: `units` let go of their listeners, and the sockets no one uses close. */
  closeListeners(units: readonly ServiceUnit[]): Promise<void>;
}

/**
 * `hearth stop NAME`: first every service that requires NAME (directly or not) and is up, each
 * after the services that depend on it, then NAME, as systemd's Requires= and s6-rc stop what
 * depends on a service stopped. Each of those keeps, as its status `reason`, the service it was
 * stopped with and the requirements in between. Then the listening sockets of all that stopped
 * are closed, so that clients are refused while they are down (an MTA moves on to its next MX at
 * once) instead of waiting in the backlog for a start nobody asked for. Restarts, crashes and
 * reloads keep the sockets. Resolves with the services stopped first, in stop order.
 */
export function stopWithDependents(scope: WalkScope, name: string): Promise<StoppedWith[]> {
  const { units, stops } = scope;
  const dependents = dependentsNow(scope, name).filter((d) => UP_STATES.has(units.get(d.name)!.state));
  const stopping = new Set([name, ...dependents.map((d) => d.name)]);
  const stop = stopAll(scope, name, dependents, stopping);
  for (const n of stopping) stops.set(n, stop);
  return stop.finally(() => {
    for (const n of stopping) if (stops.get(n) === stop) stops.delete(n);
  });
}

async function stopAll(scope: WalkScope, name: string, dependents: readonly Dependent[], stopping: ReadonlySet<string>): Promise<StoppedWith[]> {
  const { units, order, log } = scope;
  for (const d of dependents) log.info({ service: d.name, requires: d.through[0], with: name }, 'stopping a service that requires the one stopped');
  await stopInOrder(units, order.filter((n) => stopping.has(n)));
  for (const d of dependents) units.get(d.name)!.keepDown({ kind: 'stopped-with', service: name, through: d.through });
  const stopped = [...stopping].map((n) => units.get(n)!).filter((u) => u.state === 'stopped' || u.state === 'failed');
  if (stopped.length > 0) await scope.closeListeners(stopped);
  return [...dependents].reverse().map((d) => ({ requires: d.through[0]!, status: units.get(d.name)!.status() }));
}

/** The services that require `name`, directly or not, in start order (by the units' configs). */
function dependentsNow(scope: WalkScope, name: string): Dependent[] {
  return dependentsOf(name, [...scope.units.values()].map((u) => u.config), scope.order);
}

/**
 * The services that require `name`, directly or not, and are stopped (not started, or stopped
 * on request or with a requirement; not those that exited on their own): in start order.
 */
export function stillStopped(scope: WalkScope, name: string): string[] {
  return dependentsNow(scope, name)
    .map((d) => scope.units.get(d.name)!)
    .filter((u) => u.state === 'stopped' && !u.wanted)
    .map((u) => u.name);
}

/** What `startWithRequirements` did besides starting NAME. */
export interface StartAnswer {
  /** The requirements it started first, in start order, each with the service that requires it on the way to NAME. */
  readonly startedWith: StartedWith[];
  /** The services held back for those or for NAME that it started and that run (start order). */
  readonly startedHeldBack: string[];
  /** Those of them that did not come up, each with why. */
  readonly heldBackFailed: Array<{ name: string; error: string }>;
}

/**
 * `hearth start NAME` or `hearth restart NAME`. A `hearth stop` under way of NAME or of what it
 * requires is let finish first (its sockets closed), as systemd queues a start job after a stop
 * job: each unit's stop is bounded by its stopTimeout. What it `requires` and is not running is
 * then started first, in dependency order, as `hearth up` would have (and as systemd's Requires=
 * does); if one of those does not come up, NAME is left as it is and the error says which. A
 * service stopped with `stopWithDependents` gets its listeners bound again first (a bind
 * failure, a port taken meanwhile, is the ListenerError). Then the services held back (at
 * `hearth up`, or when a reload added them) for those it brought up, NAME included, start as
 * `hearth up` meant them to (`startHeldBack`), also when NAME itself did not come up after its
 * requirements did: the error then names the ones started.
 */
export async function startWithRequirements(scope: WalkScope, name: string, how: 'start' | 'restart'): Promise<StartAnswer> {
  const { units, log } = scope;
  await stopsUnderWay(scope, name);
  // A start of a service already up changes nothing, its dependencies included.
  const state = units.get(name)!.state;
  const up = how === 'start' && (state === 'running' || state === 'starting');
  const started: Array<{ name: string; requiredBy: string }> = [];
  try {
    for (const dep of up ? [] : requiredDown(scope, name)) {
      const unit = units.get(dep.name)!;
      log.info({ service: dep.name, for: name }, 'starting a required service');
      await scope.startOne(dep.name, 'start');
      if (unit.state === 'starting') await unit.whenRunning().catch(() => {});
      if (unit.state !== 'running') throw new Error(`${name} requires ${dep.name}, ${whichDown(unit)}: ${name} was not ${how}ed`);
      started.push(dep);
    }
    await scope.startOne(name, how);
  } catch (err) {
    const heldBack = await startHeldBack(scope, new Set(started.map((d) => d.name)), how);
    if (heldBack.started.length === 0) throw err;
    throw new Error(`${(err as Error).message}; started, no longer held back: ${heldBack.started.join(', ')}`, { cause: err });
  }
  const broughtUp = [...started.map((d) => d.name), ...(!up && units.get(name)!.state === 'running' ? [name] : [])];
  const heldBack = await startHeldBack(scope, new Set(broughtUp), how);
  return {
    startedWith: started.map((d) => ({ requiredBy: d.requiredBy, status: units.get(d.name)!.status() })),
    startedHeldBack: heldBack.started,
    heldBackFailed: heldBack.failed,
  };
}

/**
 * A requirement that did not come up, as a start's error names it: `which is failed (why)`, or,
 * once its starts are over, `which` and its reason (`exited (exit code 0); restart: never ...`).
 */
function whichDown(unit: ServiceUnit): string {
  const why = unit.status().reason;
  if (unit.ended && why) return `which ${why}`;
  return `${which(unit.stateAsRequirement)}${why ? ` (${why})` : ''}`;
}

/** Waits for the `hearth stop`s under way of `name` and of what it requires, directly or not. */
async function stopsUnderWay(scope: WalkScope, name: string): Promise<void> {
  const { units, stops } = scope;
  const seen = new Set<string>();
  const visit = (n: string): void => {
    if (seen.has(n) || !units.has(n)) return;
    seen.add(n);
    for (const dep of units.get(n)!.config.requires) visit(dep);
  };
  visit(name);
  const waits = [...seen].filter((n) => stops.has(n));
  if (waits.length === 0) return;
  scope.log.info({ service: name, stopping: waits }, 'waiting for the stop under way before starting');
  await Promise.all(waits.map((n) => stops.get(n)!.catch(() => {})));
}

/**
 * What `name` requires, directly or not, that is not running: in start order, each with a
 * service that requires it (`name`, or one on the way there).
 */
function requiredDown(scope: WalkScope, name: string): Array<{ name: string; requiredBy: string }> {
  const { units } = scope;
  const requiredBy = new Map<string, string>();
  const visit = (n: string): void => {
    for (const dep of units.get(n)?.config.requires ?? []) {
      if (requiredBy.has(dep) || !units.has(dep)) continue;
      requiredBy.set(dep, n);
      visit(dep);
    }
  };
  visit(name);
  return scope.order.filter((n) => requiredBy.has(n) && units.get(n)!.state !== 'running').map((n) => ({ name: n, requiredBy: requiredBy.get(n)! }));
}

/**
 * `hearth restart --all`: every running service, one by one in dependency order, each with the
 * restart guarantee; stops going on once `shuttingDown()`.
 */
export async function restartRunning(scope: WalkScope, shuttingDown: () => boolean): Promise<RestartAllResult> {
  const restarted: string[] = [];
  const failed: Array<{ name: string; error: string }> = [];
  for (const name of scope.order) {
    const unit = scope.units.get(name);
    if (!unit || shuttingDown()) continue;
    if (unit.state !== 'running') continue;
    try {
      await unit.restart();
      if (unit.state === 'running') restarted.push(name);
      else failed.push({ name, error: `${name}: ${unit.status().reason ?? unit.state}` });
    } catch (err) {
      failed.push({ name, error: (err as Error).message });
    }
  }
  return { restarted, failed };
}
