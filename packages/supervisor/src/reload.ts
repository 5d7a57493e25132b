/**
 * Applying a reload's difference (`reconcile.ts`) to the units, once the sockets it needs are
 * reserved: removed services stop, changed stopped ones take their new config for their next
 * start, settings go in place where the service can, changed running ones restart overlapped,
 * new ones start in dependency order. `Supervisor.applyConfig` runs it in its turn.
 */
import type { Logger } from '@hearth/log';
import type { ServiceConfig } from './config.js';
import type { ReloadResult } from './control-protocol.js';
import type { HeldListener } from './listeners.js';
import type { ConfigDiff } from './reconcile.js';
import type { ServiceUnit } from './unit.js';

/** What a reload works on: the supervisor's units and the new config. */
export interface ReloadScope {
  readonly units: Map<string, ServiceUnit>;
  /** The new config's start order. */
  readonly order: readonly string[];
  /** The new config's services by name. */
  readonly next: ReadonlyMap<string, ServiceConfig>;
  readonly log: Logger;
  addUnit(config: ServiceConfig, held: readonly HeldListener[]): ServiceUnit;
  /** Starts `units` in dependency order (`startInOrder`). */
  startUnits(units: readonly ServiceUnit[]): Promise<void>;
}

/**
 * Applies `diff` to `scope.units`; `heldFor` has the listeners reserved for the added services
 * and the changed ones (a settings change restarted gets its current ones added here).
 */
export async function applyReload(scope: ReloadScope, diff: ConfigDiff, heldFor: Map<string, HeldListener[]>): Promise<ReloadResult> {
  const { units, order, next: nextBy, log } = scope;
  log.info({ ...diff }, 'reloading the config');
  const failed: Array<{ name: string; error: string }> = [];
  const restarted: string[] = [];
  const reloaded: string[] = [];
  // Removed services stop first, each after the removed services that depend on it.
  const removedUnits = diff.removed.map((n) => units.get(n)!);
  await Promise.all(removedUnits.map((u) => u.stop()));
  for (const u of removedUnits) {
    units.delete(u.name);
    u.removeAllListeners();
  }
  for (const name of diff.unchanged) units.get(name)!.adoptStandby(nextBy.get(name)!);
  // A reload starts no service the operator does not want up (systemd's daemon-reload does not
  // either): a stopped one takes the new config for its next start.
  const changed = new Set([...diff.restart, ...diff.reload]);
  const updatedStopped = order.filter((name) => changed.has(name) && !units.get(name)!.wanted);
  for (const name of updatedStopped) {
    const unit = units.get(name)!;
    unit.reconfigure({ config: nextBy.get(name)!, held: heldFor.get(name) ?? unit.held });
  }
  const stays = new Set(updatedStopped);
  // In place where the service can; otherwise (it refused) overlapped restart.
  const toRestart = new Set(diff.restart.filter((name) => !stays.has(name)));
  for (const name of diff.reload.filter((n) => !stays.has(n))) {
    const unit = units.get(name)!;
    const cfg = nextBy.get(name)!;
    if (unit.state === 'failed') {
      // Nothing would start it again: restarted with its new settings, as for any other change
      // (a config change is the usual fix for a crash loop or a configuration error).
      heldFor.set(name, [...unit.held]);
      toRestart.add(name);
      continue;
    }
    if (unit.state !== 'running') {
      unit.config = cfg;
      continue;
    }
    const answer = await unit.reloadInPlace(cfg);
    if (answer.ok) reloaded.push(name);
    else {
      log.info({ service: name, reason: answer.error }, 'reload refused by the service: restarting it');
      heldFor.set(name, [...unit.held]);
      toRestart.add(name);
    }
  }
  for (const name of order.filter((n) => toRestart.has(n))) {
    const unit = units.get(name)!;
    try {
      await unit.restart({ config: nextBy.get(name)!, held: heldFor.get(name)! });
      // A stop-then-start (a command, or a service that was not running) resolves once its
      // start attempt settled, running or not.
      if (unit.state === 'running') restarted.push(name);
      else failed.push({ name, error: `${name}: ${unit.status().reason ?? unit.state}` });
    } catch (err) {
      if (unit.wanted) {
        failed.push({ name, error: (err as Error).message });
        continue;
      }
      // Stopped during its restart (hearth stop): the new instance went with the old one, and
      // the unit kept its old config. It takes the new one for its next start, as a changed
      // service already stopped does; kept old, it started again on the old listeners while
      // the suite's config (what the next reload compares with) was the new one.
      unit.reconfigure({ config: nextBy.get(name)!, held: heldFor.get(name)! });
      updatedStopped.push(name);
    }
  }
  const added = diff.added.map((n) => scope.addUnit(nextBy.get(n)!, heldFor.get(n)!));
  await scope.startUnits(added);
  for (const u of added) {
    if (u.state !== 'running') failed.push({ name: u.name, error: `${u.name}: ${u.status().reason ?? `not started (${u.state})`}` });
  }
  const result: ReloadResult = { added: diff.added, removed: diff.removed, restarted, reloaded, updatedStopped, unchanged: diff.unchanged, failed };
  log[failed.length > 0 ? 'warn' : 'info']({ ...result }, 'config reloaded');
  return result;
}
