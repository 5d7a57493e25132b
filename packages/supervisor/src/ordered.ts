/**
 * Starting and stopping units along the service graph: a unit starts once what it depends on
 * runs (a failed `requires` keeps it from starting; a failed `after` does not), and stops only
 * after every unit that depends on it has stopped.
 */
import type { Logger } from '@hearth/log';
import { dependenciesOf } from './graph.js';
import type { ServiceState } from './status.js';
import type { ServiceUnit } from './unit.js';

/** A required service did not come up (or is not running): the service that requires it is held back. */
class RequirementDown extends Error {
  constructor(
    readonly requires: string,
    readonly state: ServiceState,
  ) {
    super(`it requires ${requires}, which is ${state}`);
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
        if (required) throw new RequirementDown(dep, depUnit.state);
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
