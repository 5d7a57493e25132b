/**
 * A unit's restarts (`unit.ts` keeps one `RestartMachine`): the restart under way as one value
 * (`RestartState` of `unit-state.ts`, changed only by `#to`), restarts of the unit run one after
 * another, how many there were (status), and the warm standby's slot (`standby.ts`): a standby
 * is wanted only while the unit runs and no restart is under way.
 *
 * A restart is overlapped (`overlap.ts` does the process work) for every service that serves on
 * sockets the supervisor holds: the new instance starts on the same listeners and takes over
 * once ready, then the old one drains. A plain `command:` (it binds its own ports) is restarted
 * stop-then-start. A restart discards the standby (a new instance must run the code and settings
 * of now) and a new one follows once 2 s pass without another restart. The unit's lifecycle
 * stays the unit's: the machine reads it and asks the unit to move it (`RestartMoves`).
 */
import type { Logger } from '@hearth/log';
import type { Instance } from './instance.js';
import { NotReadyError, RestartError, drainOld, startReplacement, stopOverlapping } from './overlap.js';
import type { Reconfigure } from './overlap.js';
import { STANDBY_AFTER_RESTART_MS, StandbySlot, standbyHostFor } from './standby.js';
import type { StandbyQueue, StandbyUnit } from './standby.js';
import type { ServiceState } from './status.js';
import { checkRestartMove } from './unit-state.js';
import type { RestartState } from './unit-state.js';

/** What the machine reads of its unit (all public on `ServiceUnit`). */
export interface RestartUnit extends StandbyUnit {
  readonly name: string;
  readonly log: Logger;
  readonly state: ServiceState;
  /** The current instance, if the lifecycle state has one. */
  readonly instance: Instance | undefined;
  /** Whether a restart overlaps the old and the new instance. */
  readonly overlaps: boolean;
  stop(): Promise<boolean>;
  start(): Promise<void>;
}

/** What only the unit can do, asked by its restarts: changes of its lifecycle and config. */
export interface RestartMoves {
  /** Watches a new instance's exit as the unit's own. */
  watch(instance: Instance): void;
  /** Takes `next`'s config and listeners for what it starts from now on. */
  adopt(next: Reconfigure): void;
  /** The ready new instance of an overlapped restart becomes the current one: running. */
  takeOver(fresh: Instance): void;
  /** The new instance did not come up and the old one is gone: relaunched after the backoff delay. */
  relaunchLater(): void;
  /** The old instance had to be killed at the end of its drain: the unit did not stop cleanly. */
  killed(): void;
}

export class RestartMachine {
  #state: RestartState<Instance> = { kind: 'idle' };
  /** Restarts run one at a time. */
  #serial: Promise<unknown> = Promise.resolve();
  #count = 0;
  readonly standby: StandbySlot | undefined;

  constructor(
    readonly unit: RestartUnit,
    readonly moves: RestartMoves,
    /** Where standbys are spawned; without one, the unit keeps none. */
    standbys?: StandbyQueue,
  ) {
    if (standbys) this.standby = new StandbySlot(standbyHostFor(unit, () => this.#wantsStandby()), standbys, unit.log);
  }

  #wantsStandby(): boolean {
    return this.unit.config.standby && this.unit.state === 'running' && this.#state.kind === 'idle';
  }

  /** How many times the unit was started again: relaunches after a crash and restarts. */
  get count(): number {
    return this.#count;
  }

  /** One more start again (a relaunch after a crash). */
  counted(): void {
    this.#count++;
  }

  /** The instances of the restart under way: the new one getting ready, the old one draining. */
  instances(): Array<Instance | undefined> {
    const r = this.#state;
    return [r.kind === 'overlapping' ? r.fresh : undefined, r.kind === 'draining' ? r.old : undefined];
  }

  /** Whether an overlapped restart has spawned its new instance, which takes over when ready. */
  get newInstanceSpawned(): boolean {
    return this.#state.kind === 'overlapping' && this.#state.fresh !== undefined;
  }

  /** The one place the restart machine changes. */
  #to(next: RestartState<Instance>): void {
    checkRestartMove(this.unit.name, this.#state.kind, next.kind);
    this.#state = next;
  }

  /** `ServiceUnit#restart`: one after the other. */
  restart(next?: Reconfigure): Promise<void> {
    const run = this.#serial.then(async () => {
      try {
        await this.#restartOnce(next);
      } finally {
        if (this.#state.kind !== 'idle') this.#to({ kind: 'idle' });
      }
    });
    this.#serial = run.catch(() => {});
    return run;
  }

  async #restartOnce(next: Reconfigure | undefined): Promise<void> {
    const { unit, moves } = this;
    // A restart is how new code and settings go live: a standby loaded before it is outdated.
    this.standby?.discard('restart');
    const old = unit.state === 'running' ? unit.instance : undefined;
    const overlapped = unit.overlaps && (next === undefined || next.config.run.type !== 'command');
    if (!overlapped || old === undefined || old.child.exit) {
      this.#to({ kind: 'cold' });
      await unit.stop();
      if (next) moves.adopt(next);
      this.#count++;
      await unit.start();
      this.standby?.want(STANDBY_AFTER_RESTART_MS);
      return;
    }
    this.#to({ kind: 'overlapping', old, fresh: undefined });
    const config = next?.config ?? unit.config;
    const held = next?.held ?? unit.held;
    const keeps = `the old instance (pid ${old.pid}) keeps serving`;
    const pendingIs = (i: Instance): boolean => this.#state.kind === 'overlapping' && this.#state.fresh === i;
    let fresh: Instance;
    try {
      fresh = await startReplacement({
        config,
        held,
        deps: unit.deps,
        onSpawned: (i) => {
          this.#to({ kind: 'overlapping', old, fresh: i });
          moves.watch(i);
          unit.log.info({ service: unit.name, child: i.pid, old: old.pid }, 'new instance started (overlapped restart)');
        },
        stillWanted: pendingIs,
      });
    } catch (err) {
      if (!(err instanceof NotReadyError)) throw new RestartError(`${unit.name}: the new instance could not be started (${(err as Error).message}); ${keeps}`);
      this.#to({ kind: 'idle' });
      unit.log.warn({ service: unit.name, child: err.pid, err: err.message }, 'new instance did not become ready: keeping the old one');
      this.standby?.want(STANDBY_AFTER_RESTART_MS);
      if (unit.instance === old && !old.child.exit) throw new RestartError(`${unit.name}: the new instance did not become ready (${err.message}); ${keeps}`);
      // `starting` without an instance: the old one died during the restart (not `not-ready`, which has one).
      if (unit.state === 'starting' && unit.instance === undefined) moves.relaunchLater();
      throw new RestartError(`${unit.name}: the new instance did not become ready (${err.message}); the old one has exited too`);
    }
    if (!pendingIs(fresh)) {
      // Stopped between its ready check and now.
      await fresh.stop(Math.min(unit.config.stopTimeoutMs, 1000));
      throw new RestartError(`${unit.name}: the service was stopped during the restart`);
    }
    // Promote the new instance, then drain the old one.
    if (next) moves.adopt(next);
    this.#count++;
    moves.takeOver(fresh);
    if (!old.child.exit) {
      this.#to({ kind: 'draining', old });
      if (!(await drainOld(unit.name, old, unit.config.stopTimeoutMs, unit.log))) moves.killed();
    }
    this.#to({ kind: 'idle' });
    // A fresh standby once the old instance is gone and no other restart followed for a while
    // (the CPU goes to new instances first).
    this.standby?.want(STANDBY_AFTER_RESTART_MS);
  }

  /**
   * At the unit's stop: the standby first (it must not be promoted, and it holds nothing worth
   * draining: asked to stop now, awaited with the rest), then the new instance of an overlapped
   * restart (taken away from it), and a draining old one is waited for. Resolves true if all
   * stopped cleanly.
   */
  stop(stopTimeoutMs: number): Promise<boolean> {
    const standbyGone = this.standby?.stop() ?? Promise.resolve();
    const r = this.#state;
    const pending = r.kind === 'overlapping' ? r.fresh : undefined;
    if (r.kind === 'overlapping') this.#to({ ...r, fresh: undefined });
    const draining = r.kind === 'draining' ? [r.old] : [];
    return stopOverlapping(pending, draining, stopTimeoutMs).then(async (clean) => {
      await standbyGone;
      return clean;
    });
  }
}
