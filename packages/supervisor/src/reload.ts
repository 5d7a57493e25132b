/**
 * A reload's difference (`reconcile.ts`, found by `reloadDiff`) and applying it to the units, once
 * the sockets it needs are reserved: removed services stop, changed stopped ones take their new
 * config for their next start, settings go in place where the service can, changed running ones
 * restart overlapped and new ones start, in one dependency order over the new config.
 * `Supervisor.applyConfig` runs it in its turn.
 */
import type { Logger } from '@hearth/log';
import type { ServiceConfig, SuiteConfig } from './config.js';
import type { ReloadResult } from './control-protocol.js';
import { UP_STATES } from './dependency-walks.js';
import { dependenciesOf, dependentsOf } from './graph.js';
import type { HeldListener } from './listeners.js';
import { diffConfigs, suiteStamp, type ConfigDiff } from './reconcile.js';
import { tlsFilesStamp } from './tls-files.js';
import { startHeldBack, stopInOrder } from './ordered.js';
import { untilCameUp, untilSettled } from './status.js';
import type { StopCause } from './unit-state.js';
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

/** What the running suite is, for `reloadDiff`. */
export interface RunningSuite {
  /** The configured certificate files' stamp (`tlsFilesStamp`) at the start or the last reload. */
  readonly tlsFiles: string | undefined;
  readonly units: ReadonlyMap<string, ServiceUnit>;
}

/**
 * What a reload from `prev` (the running config) to `next` changes (`diffConfigs`), and the
 * certificate files' stamp of now. A service whose current instance runs other shared settings
 * (mail:, tls:, the certificate files' contents) than `prev`'s refused them in place and the
 * restart that was to bring them failed, the old instance serving on: it is sent them again, as
 * for a change of its own config. An instance started since (a crash, hearth restart) got them.
 */
export async function reloadDiff(prev: SuiteConfig, next: SuiteConfig, running: RunningSuite, log: Logger): Promise<{ diff: ConfigDiff; tlsFiles: string | undefined }> {
  const tlsFiles = await tlsFilesStamp(next.tls);
  const tlsFilesChanged = tlsFiles !== running.tlsFiles && next.tls.cert === prev.tls.cert && next.tls.key === prev.tls.key;
  if (tlsFilesChanged) log.info({ cert: next.tls.cert, key: next.tls.key }, 'reload: the certificate or key has new contents: every service reads them again');
  const stamp = suiteStamp(prev, running.tlsFiles);
  const behind = new Set([...running.units.values()].filter((u) => u.instance !== undefined && u.instance.suiteStamp !== stamp).map((u) => u.name));
  return { diff: diffConfigs(prev, next, tlsFilesChanged, behind), tlsFiles };
}

/** Logs a warning for each change a reload does not apply: those `hearth up` alone reads. */
export function warnStartOnly(prev: SuiteConfig, next: SuiteConfig, running: { readonly dataDir: string; readonly logLevel: string }, log: Logger): void {
  if (next.data !== prev.data && running.dataDir !== next.data) {
    log.warn({ data: next.data }, 'reload: a new data: takes effect only at the next hearth up');
  }
  if (next.logLevel !== prev.logLevel) {
    log.warn({ logLevel: next.logLevel, running: running.logLevel }, 'reload: a new log.level takes effect only at the next hearth up');
  }
  if (next.legacy.sharedProcessGroup !== prev.legacy.sharedProcessGroup) {
    log.warn('reload: legacy.sharedProcessGroup takes effect only at the next hearth up');
  }
}

/**
 * Applies `diff` to `scope.units`; `heldFor` has the listeners reserved for the added services
 * and the changed ones (a settings change restarted gets its current ones added here).
 */
export async function applyReload(scope: ReloadScope, diff: ConfigDiff, heldFor: Map<string, HeldListener[]>): Promise<ReloadResult> {
  const { units, order, next: nextBy, log } = scope;
  log.info({ ...diff }, 'reloading the config');
  const reloaded: string[] = [];
  const updatedNextStart: string[] = [];
  // Removed services stop first, each after the removed services that depend on it.
  const removedUnits = diff.removed.map((n) => units.get(n)!);
  await Promise.all(removedUnits.map((u) => u.stop()));
  for (const u of removedUnits) {
    units.delete(u.name);
    u.removeAllListeners();
  }
  // The added services are units from now on (stopped), each started at its turn (below).
  for (const name of diff.added) scope.addUnit(nextBy.get(name)!, heldFor.get(name)!);
  for (const name of diff.unchanged) units.get(name)!.adoptStandby(nextBy.get(name)!);
  // Settings for a service starting go to it once it runs, as to one running: the reload waits
  // for its start to settle (within its readyTimeout), as it waits for a restart's new instance.
  await Promise.all(diff.reload.map((n) => units.get(n)!).filter((u) => u.state === 'starting').map((u) => untilSettled(u)));
  const run: ReloadRun = {
    scope,
    added: new Set(diff.added),
    changed: new Set([...diff.restart, ...diff.reload]),
    heldFor,
    restarted: [],
    failed: [],
    updatedStopped: [],
    keptFailed: [],
    // Not restarted without what it now requires: a reload starts no stopped service, and hearth
    // start starts what a service requires first.
    stoppedForRequirement: await stopForRequirements(scope, diff.restart, new Set(diff.added)),
    stoppedHere: new Set(),
  };
  for (const s of run.stoppedForRequirement) run.stoppedHere.add(s.name);
  // A reload starts no service the operator does not want up (systemd's daemon-reload does not
  // either): a stopped one takes the new config for its next start.
  for (const name of order.filter((n) => run.changed.has(n) && !units.get(n)!.wanted)) {
    const unit = units.get(name)!;
    unit.reconfigure({ config: nextBy.get(name)!, held: heldFor.get(name) ?? unit.held });
  }
  // Their sockets are closed as at hearth stop; their next start binds them.
  for (const name of run.stoppedHere) units.get(name)!.letGoOfListeners();
  run.updatedStopped.push(...order.filter((n) => run.changed.has(n) && !units.get(n)!.wanted && !run.stoppedHere.has(n)));
  // In place where the service can; otherwise (it refused) overlapped restart.
  const toRestart = new Set(diff.restart.filter((name) => units.get(name)!.wanted));
  for (const name of diff.reload.filter((n) => units.get(n)!.wanted)) {
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
      // Its start did not come up (in backoff), or it exited: its next start (a relaunch, a restart) runs them.
      unit.config = cfg;
      updatedNextStart.push(name);
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
  await restartAndStart(run, toRestart);
  const { restarted, failed, updatedStopped } = run;
  for (const u of diff.added.map((n) => units.get(n)!)) {
    if (u.state !== 'running') failed.push({ name: u.name, error: `${u.name}: ${u.status().reason ?? `not started (${u.state})`}` });
  }
  const heldBack = await startHeldBack(scope, new Set([...restarted, ...diff.added.filter((n) => units.get(n)!.state === 'running')]), 'reload');
  const startedHeldBack = heldBack.started;
  failed.push(...heldBack.failed);
  const result: ReloadResult = {
    added: diff.added,
    removed: diff.removed,
    restarted,
    reloaded,
    updatedStopped: updatedStopped.filter((n) => !startedHeldBack.includes(n)),
    stoppedForRequirement: run.stoppedForRequirement,
    keptFailed: run.keptFailed,
    startedHeldBack,
    updatedNextStart,
    unchanged: diff.unchanged.filter((n) => !startedHeldBack.includes(n)),
    failed,
  };
  log[failed.length > 0 ? 'warn' : 'info']({ ...result }, 'config reloaded');
  return result;
}

type StoppedForRequirement = NonNullable<ReloadResult['stoppedForRequirement']>[number];
type KeptFailed = NonNullable<ReloadResult['keptFailed']>[number];

/** A reload under way: what it works on, and what it did so far (for its `ReloadResult`). */
interface ReloadRun {
  readonly scope: ReloadScope;
  readonly added: ReadonlySet<string>;
  /** The services whose config changed (`restart` and `reload` of the diff). */
  readonly changed: ReadonlySet<string>;
  readonly heldFor: ReadonlyMap<string, readonly HeldListener[]>;
  readonly restarted: string[];
  readonly failed: Array<{ name: string; error: string }>;
  readonly updatedStopped: string[];
  readonly keptFailed: KeptFailed[];
  readonly stoppedForRequirement: StoppedForRequirement[];
  /** The services this reload stopped for a requirement (`stoppedForRequirement`). */
  readonly stoppedHere: Set<string>;
}

/** The turns of a reload's restarts and starts (`restartAndStart`). */
interface Turns {
  /** The services with a restart turn (changed, and restarted unless `restartOne` finds otherwise). */
  readonly restarting: ReadonlySet<string>;
  /** The services whose turn another turn waits for (it depends on them: `requires`, `after`). */
  readonly awaited: ReadonlySet<string>;
}

/**
 * The restarts and the starts of the added services, in one dependency order over the new
 * config, as `hearth up` starts a suite: each has its turn once what it depends on among them
 * (`requires`, `after`) has had its own and, if added or restarted, runs or its starts are over
 * (`untilCameUp`: a restarted one in backoff is waited for through it, outside the order of
 * the other restarts). So a service whose new config requires one this reload adds or restarts
 * is restarted once that one runs, and not restarted without it (`restartOne`). The restarts go
 * one at a time, in start order; an added service starts as soon as its turn comes
 * (`startInOrder`: held back if what it requires does not run).
 */
async function restartAndStart(run: ReloadRun, toRestart: ReadonlySet<string>): Promise<void> {
  const { units, order, next } = run.scope;
  const names = new Set(order);
  const inTurn = order.filter((n) => toRestart.has(n) || run.added.has(n));
  const turns: Turns = {
    restarting: toRestart,
    awaited: new Set(inTurn.flatMap((n) => dependenciesOf(next.get(n)!, names).filter((d) => toRestart.has(d) || run.added.has(d)))),
  };
  const turnOf = new Map<string, Promise<void>>();
  let restarts: Promise<unknown> = Promise.resolve();
  for (const name of inTurn) {
    const before = Promise.all(
      dependenciesOf(next.get(name)!, names)
        .filter((d) => turnOf.has(d))
        .map(async (d) => {
          await turnOf.get(d);
          await untilCameUp(units.get(d)!);
        }),
    );
    if (run.added.has(name)) {
      turnOf.set(name, before.then(() => run.scope.startUnits([units.get(name)!])));
      continue;
    }
    const restart = Promise.all([before, restarts]).then(() => restartOne(run, turns, name));
    restarts = restart;
    turnOf.set(name, restart.then((restarted) => (restarted ? judgeRestart(run, name, turns.awaited.has(name)) : undefined)));
  }
  await Promise.all(turnOf.values());
  // In start order, whenever each came up.
  run.restarted.sort((a, b) => order.indexOf(a) - order.indexOf(b));
}

/**
 * A changed service's turn: restarted with its new config (a failed one too), unless it is
 * stopped (it takes the new config for its next start; one stopped by this reload has it
 * already), failed and what it requires is not up (`keepFailedForRequirement`), or up and its
 * new config requires a service this reload added or restarted that does not run: stopped,
 * with what is up and requires it, as when its requirement is stopped
 * (`stopForRequirementDown`). Resolves true once a restart's start attempt settled, for
 * `judgeRestart`.
 */
async function restartOne(run: ReloadRun, turns: Turns, name: string): Promise<boolean> {
  const { units, next } = run.scope;
  const unit = units.get(name)!;
  const config = next.get(name)!;
  if (run.stoppedHere.has(name)) return false;
  if (!unit.wanted) {
    // Stopped by hearth stop since the reload began.
    unit.reconfigure({ config, held: run.heldFor.get(name) ?? unit.held });
    run.updatedStopped.push(name);
    return false;
  }
  const kept = keepFailedForRequirement(run, turns, unit);
  if (kept) {
    run.keptFailed.push(kept);
    return false;
  }
  const missing = unit.state === 'failed' ? undefined : config.requires.find((r) => hadTurn(run, turns, r) && units.get(r)!.state !== 'running');
  if (missing !== undefined) {
    await stopForRequirementDown(run, name, missing);
    return false;
  }
  try {
    await unit.restart({ config, held: run.heldFor.get(name)! });
    return true;
  } catch (err) {
    if (unit.wanted) {
      run.failed.push({ name, error: (err as Error).message });
      return false;
    }
    // Stopped during its restart (hearth stop): the new instance went with the old one, and
    // the unit kept its old config. It takes the new one for its next start, as a changed
    // service already stopped does; kept old, it started again on the old listeners while
    // the suite's config (what the next reload compares with) was the new one.
    unit.reconfigure({ config, held: run.heldFor.get(name)! });
    run.updatedStopped.push(name);
    return false;
  }
}

/** Whether `name` has a turn in this reload (added, or to be restarted): what depends on it has its turn after it. */
function hadTurn(run: ReloadRun, turns: Turns, name: string): boolean {
  return run.added.has(name) || turns.restarting.has(name);
}

/**
 * Lists a restarted service as `restarted` if it runs, else in `failed`: as its start attempt
 * settled (a stop-then-start, a command or a service that was not running, resolves then,
 * running or not), or, if another turn waits for it (`awaited`), once it runs or its starts
 * are over (`untilCameUp`), as for an added one.
 */
async function judgeRestart(run: ReloadRun, name: string, awaited: boolean): Promise<void> {
  const unit = run.scope.units.get(name)!;
  if (awaited) await untilCameUp(unit);
  if (unit.state === 'running') run.restarted.push(name);
  else run.failed.push({ name, error: `${name}: ${unit.status().reason ?? unit.state}` });
}

/**
 * Stops `name`, up, whose new config requires `requires`, a service this reload added or
 * restarted that does not run, and first what is up and requires it; each keeps as its status
 * reason why, takes its new config (if changed) for its next start and lets go of its sockets,
 * as one stopped for a requirement that is stopped (`stopForRequirements`).
 */
async function stopForRequirementDown(run: ReloadRun, name: string, requires: string): Promise<void> {
  const { units, next } = run.scope;
  const state = units.get(requires)!.stateAsRequirement;
  const down = new Map<string, StopCause>([[name, { kind: 'requirement-down', requires, state }]]);
  const out: StoppedForRequirement[] = [{ name, requires, state }];
  withDependentsUp(run.scope, name, down, out);
  const stopped = await stopDown(run.scope, down, out);
  for (const s of stopped) {
    const unit = units.get(s.name)!;
    run.stoppedHere.add(s.name);
    if (run.changed.has(s.name)) unit.reconfigure({ config: next.get(s.name)!, held: run.heldFor.get(s.name) ?? unit.held });
    unit.letGoOfListeners();
  }
  run.stoppedForRequirement.push(...stopped);
}

/**
 * Stops each service up whose new config (it is in `restart`) requires a service that is
 * stopped, stopping, failed (and not restarted by this reload), or stopped here (not one
 * `added` by this reload: that one has its turn in `restartAndStart`), and first what is up and
 * requires it (as `hearth stop` stops it); each keeps as its status reason why. A failed one is
 * left to its restart.
 */
async function stopForRequirements(scope: ReloadScope, restart: readonly string[], added: ReadonlySet<string>): Promise<StoppedForRequirement[]> {
  const { units, order, next } = scope;
  const changed = new Set(restart);
  const down = new Map<string, StopCause>();
  const out: StoppedForRequirement[] = [];
  for (const name of order) {
    const unit = units.get(name);
    // One stopped with a service before it (`withDependentsUp`) is stopped once, for that one.
    if (!unit || !changed.has(name) || !UP_STATES.has(unit.state) || down.has(name)) continue;
    const requires = next.get(name)!.requires.find((r) => down.has(r) || (units.has(r) && !added.has(r) && (!units.get(r)!.wanted || (units.get(r)!.state === 'failed' && !changed.has(r)))));
    if (requires === undefined) continue;
    const state = down.has(requires) ? 'stopped' : units.get(requires)!.stateAsRequirement;
    down.set(name, { kind: 'requirement-down', requires, state });
    out.push({ name, requires, state });
    withDependentsUp(scope, name, down, out);
  }
  return stopDown(scope, down, out);
}

/** Adds to `down` and `out` what is up and requires `name` (directly or not), stopped with it. */
function withDependentsUp(scope: ReloadScope, name: string, down: Map<string, StopCause>, out: StoppedForRequirement[]): void {
  const { units, order, next } = scope;
  const nodes = order.map((n) => next.get(n)!);
  for (const d of dependentsOf(name, nodes, order)) {
    if (down.has(d.name) || !UP_STATES.has(units.get(d.name)?.state ?? 'stopped')) continue;
    down.set(d.name, { kind: 'stopped-with', service: name, through: d.through });
    out.push({ name: d.name, requires: d.through[0]!, state: 'stopped' });
  }
}

/** Stops the services of `down`, each after its dependents, and keeps each down for its cause; resolves with `out` in stop order. */
async function stopDown(scope: ReloadScope, down: ReadonlyMap<string, StopCause>, out: readonly StoppedForRequirement[]): Promise<StoppedForRequirement[]> {
  const { units, order, log } = scope;
  if (down.size === 0) return [];
  for (const s of out) log.info({ service: s.name, requires: s.requires, state: s.state }, 'reload: stopping a service whose requirement is not up');
  await stopInOrder(units, order.filter((n) => down.has(n)));
  for (const [name, cause] of down) units.get(name)!.keepDown(cause);
  return order.flatMap((n) => out.filter((s) => s.name === n)).reverse();
}

/**
 * If `unit` is failed and its new config requires a service that is stopped, stopping (those
 * stopped for a requirement included), failed (one restarted by this reload that did not come up
 * included) or added or restarted by this reload and not running: it takes its new config and
 * listeners for its next start and stays failed, as a failed unit moves only to starting or
 * running, its status reason saying why now (and why it failed); `hearth start` then starts what
 * it requires first.
 */
function keepFailedForRequirement(run: ReloadRun, turns: Turns, unit: ServiceUnit): KeptFailed | undefined {
  const { units, next, log } = run.scope;
  if (unit.state !== 'failed') return undefined;
  const down = (r: string): boolean => {
    const req = units.get(r);
    return req !== undefined && (!req.wanted || req.state === 'failed' || (hadTurn(run, turns, r) && req.state !== 'running'));
  };
  const requires = next.get(unit.name)!.requires.find(down);
  if (requires === undefined) return undefined;
  const state = units.get(requires)!.stateAsRequirement;
  unit.reconfigure({ config: next.get(unit.name)!, held: run.heldFor.get(unit.name) ?? unit.held });
  unit.keepFailed({ requires, state });
  log.info({ service: unit.name, requires, state }, 'reload: a failed service whose requirement is not up stays failed');
  return { name: unit.name, requires, state };
}
