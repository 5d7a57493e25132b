/**
 * Starting and stopping units along the service graph: a unit starts once what it depends on
 * runs (a failed `requires` keeps it from starting; a failed `after` does not), and stops only
 * after every unit that depends on it has stopped. A unit held back for a requirement starts
 * once a reload, `hearth start` or `hearth restart` brings that requirement up (`startHeldBack`).
 */
import type { Logger } from '@hearth/log';
import { dependenciesOf } from './graph.js';
import { type RequirementState, which } from './control-protocol.js';
import type { ServiceUnit } from './unit.js';

/** A required service did not come up (or is not running): the service that requires it is held back. */
class RequirementDown extends Error {
  constructor(
    readonly requires: string,
    readonly state: RequirementState,
  ) {
    super(`it requires ${requires}, ${which(state)}`);
  }
}

/**
 * Starts `starting` (names) in `order`; a dependency outside them counts as it is now. Resolves
 * when every start attempt has settled. `stopping()` true: units not yet started stay stopped.
 */
export async function startInOrder(
  units: ReadonlyMap<string, ServiceUnit>,
  order: readonly string[],
  starting: ReadonlySet<string>,
  stopping: () => boolean,
  log: Logger,
): Promise<void> {
  const names = new Set(order);
  const tasks = new Map<string, Promise<void>>();
  for (const name of order.filter((n) => starting.has(n))) {
    const unit = units.get(name)!;
    const cfg = unit.config;
    const waits = dependenciesOf(cfg, names).map(async (dep) => {
      const required = cfg.requires.includes(dep);
      const depUnit = units.get(dep)!;
      try {
        if (starting.has(dep)) {
          await tasks.get(dep);
          await depUnit.whenRunning();
        } else if (depUnit.state !== 'running') {
          throw new Error('not running');
        }
      } catch {
        if (required) throw new RequirementDown(dep, depUnit.stateAsRequirement);
      }
    });
    tasks.set(
      name,
      Promise.all(waits).then(
        () => (stopping() ? undefined : unit.start()),
        (err: RequirementDown) => {
          if (stopping()) return; // a shutdown stopped what it requires: nothing to report
          // Status shows why it stays stopped; `hearth start NAME` starts what it requires first.
          unit.keepDown({ kind: 'held-back', requires: err.requires, state: err.state });
          log.error({ service: name, err: err.message }, 'service not started: a required service is not running');
        },
      ),
    );
  }
  await Promise.all(tasks.values());
}

/** Stops every unit of `order`, each after the units that depend on it. Resolves true if all stopped cleanly. */
export async function stopInOrder(units: ReadonlyMap<string, ServiceUnit>, order: readonly string[]): Promise<boolean> {
  const names = new Set(order);
  const stops = new Map<string, Promise<boolean>>();
  for (const name of [...order].reverse()) {
    const dependents = order.filter((n) => dependenciesOf(units.get(n)!.config, names).includes(name));
    const unit = units.get(name)!;
    stops.set(name, Promise.all(dependents.map((d) => stops.get(d))).then(() => unit.stop()));
  }
  const results = await Promise.all(stops.values());
  return results.every(Boolean) && [...units.values()].every((u) => u.stoppedCleanly);
}

/** What `startHeldBack` works on: the supervisor's units, and its `startInOrder` for some of them. */
export interface HeldBackScope {
  readonly units: ReadonlyMap<string, ServiceUnit>;
  /** The start order. */
  readonly order: readonly string[];
  readonly log: Logger;
  startUnits(units: readonly ServiceUnit[]): Promise<void>;
}

/** What `startHeldBack` started: those running, and those that did not come up, each with why. */
export interface HeldBackStarted {
  readonly started: string[];
  readonly failed: Array<{ name: string; error: string }>;
}

/**
 * Starts the units held back for a requirement (`StopCause` held-back) that `broughtUp` holds
 * or that starts here, in start order, once all they require runs: `hearth up` (or the reload
 * that added them) meant them to run. One stopped on request since is not held back any more.
 * One that requires another service that is not running stays held back, its status reason
 * naming that one now. `by` (the verb) goes into the log line.
 */
export async function startHeldBack(scope: HeldBackScope, broughtUp: ReadonlySet<string>, by: string): Promise<HeldBackStarted> {
  const { units, order } = scope;
  const release: string[] = [];
  // In start order: a requirement before what requires it.
  for (const name of order) {
    const unit = units.get(name);
    const cause = unit?.stopCause;
    if (!unit || cause?.kind !== 'held-back' || !(broughtUp.has(cause.requires) || release.includes(cause.requires))) continue;
    const down = unit.config.requires.find((r) => !release.includes(r) && units.get(r)?.state !== 'running');
    if (down === undefined) release.push(name);
    else unit.keepDown({ kind: 'held-back', requires: down, state: units.get(down)?.stateAsRequirement ?? 'stopped' });
  }
  if (release.length === 0) return { started: [], failed: [] };
  const released = release.map((n) => units.get(n)!);
  scope.log.info({ services: release, by }, 'starting the services held back for a requirement now up');
  await scope.startUnits(released);
  return {
    started: released.filter((u) => u.state === 'running').map((u) => u.name),
    failed: released.filter((u) => u.state !== 'running').map((u) => ({ name: u.name, error: `${u.name}: ${u.status().reason ?? u.state}` })),
  };
}
