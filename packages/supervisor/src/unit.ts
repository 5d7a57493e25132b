/**
 * One configured service and its lifecycle: starting -> running, restarts with backoff after a
 * crash (`recovery.ts`), `failed` after a crash loop or a permanent error (exit 78),
 * graceful stop. A unit only ever touches its own instances: one service's crash never reaches
 * another.
 *
 * The lifecycle is one value (`unit-state.ts`) changed only by `#to`. Restarts, their count and
 * the warm standby (`standby.ts`, promoted by a relaunch after a crash instead of a cold start;
 * a settings reload discards it) are the unit's `RestartMachine` (`restart-machine.ts`).
 */
import { EventEmitter } from 'node:events';
import type { ExitInfo } from '@hearth/process';
import type { Logger } from '@hearth/log';
import type { ServiceConfig } from './config.js';
import { Instance } from './instance.js';
import type { InstanceDeps } from './instance.js';
import type { HeldListener } from './listeners.js';
import type { Reconfigure } from './overlap.js';
import { readyBeforeStart } from './ready.js';
import { Recovery } from './recovery.js';
import { RestartMachine } from './restart-machine.js';
import type { RestartMoves } from './restart-machine.js';
import type { StandbyQueue } from './standby.js';
import { statusOf, untilRunning } from './status.js';
import type { ServiceState, ServiceStatus } from './status.js';
import { checkUnitMove, currentOf, hasEnded, isWanted, publicState, reasonOfState, whyEntered } from './unit-state.js';
import type { RequirementState } from './control-protocol.js';
import type { KeptFor, StopCause, UnitState } from './unit-state.js';

export interface UnitEvents {
  /** What status shows changed; `why`: the exit or the reason behind it, where there is one. */
  state: [state: ServiceState, why: string | undefined];
  /** An instance this unit started has exited (current, pending or draining). */
  exit: [instance: Instance];
}

export class ServiceUnit extends EventEmitter<UnitEvents> {
  /** The lifecycle, with the current instance inside the states that have one. */
  #state: UnitState<Instance> = { kind: 'stopped' };
  /** Restarts (the one under way: the new instance, the old one draining), their count, the standby. */
  readonly #restart: RestartMachine;
  #held: readonly HeldListener[];
  /** Restart policy, crash-loop detection and backoff for the current config. */
  #recovery: Recovery;
  #lastExit: ExitInfo | undefined;
  /** What status shows as the reason: why it failed, or why the last start failed. */
  #reason: string | undefined;
  /** Clean stop so far: set false when a stop needed SIGKILL or exited badly. */
  #stopClean = true;

  constructor(
    public config: ServiceConfig,
    held: readonly HeldListener[],
    readonly deps: InstanceDeps,
    readonly log: Logger,
    /** Where standbys are spawned; without one, the unit keeps none. */
    standbys?: StandbyQueue,
  ) {
    super();
    this.#held = held;
    this.#recovery = new Recovery(config);
    const moves: RestartMoves = {
      watch: (i) => this.#watch(i),
      adopt: (next) => this.#adopt(next),
      takeOver: (fresh) => {
        this.#reason = undefined;
        this.#to({ kind: 'running', instance: fresh, since: Date.now() });
        this.log.info({ service: this.name, child: fresh.pid }, 'service ready');
      },
      relaunchLater: () => {
        this.#retryLater(0);
      },
      killed: () => {
        this.#stopClean = false;
      },
    };
    this.#restart = new RestartMachine(this, moves, standbys);
  }

  get name(): string {
    return this.config.name;
  }
  get state(): ServiceState {
    return publicState(this.#state.kind);
  }
  get instance(): Instance | undefined {
    return currentOf(this.#state);
  }
  /** The listeners the current config uses. */
  get held(): readonly HeldListener[] {
    return this.#held;
  }

  /**
   * Lets go of its listeners once stopped on request (`Supervisor.stopService` closes them): it
   * may not start again before `takeListeners`.
   */
  letGoOfListeners(): void {
    this.#held = [];
  }

  /** The listeners for its next start, bound again after `letGoOfListeners`. */
  takeListeners(held: readonly HeldListener[]): void {
    this.#held = held;
  }

  /** Whether it has let go of the listeners its config names (`letGoOfListeners`). */
  get withoutListeners(): boolean {
    return this.#held.length === 0 && this.config.listen.length > 0;
  }

  /** Every live instance: the current one, a new one getting ready, an old one draining. */
  instances(): Instance[] {
    const all = [currentOf(this.#state), ...this.#restart.instances()];
    return all.filter((i): i is Instance => i !== undefined && !i.child.exit);
  }

  /** Whether a restart overlaps the old and the new instance (sockets held by the supervisor). */
  get overlaps(): boolean {
    return this.config.run.type !== 'command';
  }

  status(): ServiceStatus {
    const current = currentOf(this.#state);
    const state = this.#state;
    return statusOf({
      config: this.config,
      state: this.state,
      pid: current && !current.child.exit ? current.pid : undefined,
      standbyPid: this.#restart.standby?.pid ?? undefined,
      restarts: this.#restart.count,
      runningSince: state.kind === 'running' ? state.since : undefined,
      lastExit: this.#lastExit,
      reason: reasonOfState(state, this.config.restart) ?? this.#reason,
      held: this.#held,
    });
  }

  /** The one place the lifecycle changes: checks the move, emits `state` when what status shows changes. */
  #to(next: UnitState<Instance>): void {
    const before = this.state;
    const from = this.#state.kind;
    checkUnitMove(this.name, from, next.kind);
    this.#state = next;
    const state = this.state;
    if (state === before) return;
    if (state === 'failed' || state === 'stopped') this.#restart.standby?.discard(`service ${state}`);
    this.emit('state', state, whyEntered(from, next, this.#lastExit, this.config.restart));
  }

  /**
   * Starts the service if it is not up. Resolves when it is running, or when this attempt ended
   * (it then is in backoff or failed; `state` tells). A manual start clears a failed state.
   */
  async start(): Promise<void> {
    const kind = this.#state.kind;
    if (kind === 'running' || kind === 'starting' || kind === 'not-ready' || kind === 'stopping') return;
    if (kind === 'failed') this.#recovery.reset();
    this.#recovery.cancel();
    this.#reason = undefined;
    await this.#launch();
  }

  async #launch(): Promise<void> {
    const spawning: UnitState<Instance> = { kind: 'starting', instance: undefined };
    this.#to(spawning);
    // A warm standby, if there is a current one, takes over at once; else a cold start.
    const standby = this.#restart.standby?.take();
    let instance: Instance;
    if (standby?.promote()) {
      instance = standby;
      this.log.info({ service: this.name, child: instance.pid }, 'standby promoted');
    } else {
      standby?.kill();
      if (await readyBeforeStart(this.config.ready)) {
        this.log.warn({ service: this.name, ready: this.config.ready }, 'the ready check passes before the service is started: another program holds its port, and the check cannot tell it from this service');
      }
      try {
        instance = await Instance.spawn(this.config, this.#held, this.deps);
      } catch (err) {
        this.#reason = (err as Error).message;
        this.log.error({ service: this.name, err: this.#reason }, 'service could not be started');
        if (this.#state === spawning) this.#to({ kind: 'failed', reason: this.#reason });
        return;
      }
      this.log.info({ service: this.name, child: instance.pid }, 'service started');
    }
    this.#watch(instance);
    if (this.#state !== spawning) {
      // Stopped while it was being spawned.
      await this.#stopCancelled(instance);
      return;
    }
    const starting: UnitState<Instance> = { kind: 'starting', instance };
    this.#to(starting);
    try {
      await instance.ready(this.config.readyTimeoutMs);
    } catch (err) {
      if (this.#state !== starting || instance.child.exit) return; // #onExit (or a stop) handles it
      this.#reason = (err as Error).message;
      this.log.warn({ service: this.name, child: instance.pid, err: this.#reason }, 'service did not become ready: killing it');
      this.#to({ kind: 'not-ready', instance });
      instance.kill();
      return;
    }
    if (this.#state !== starting || instance.child.exit) return;
    this.#to({ kind: 'running', instance, since: Date.now() });
    this.log.info({ service: this.name, child: instance.pid }, 'service ready');
    this.#restart.standby?.want();
  }

  /** An instance whose spawn a stop overtook: stopped like the current one. */
  async #stopCancelled(instance: Instance): Promise<void> {
    if (this.#state.kind !== 'stopped') {
      // Another start took over meanwhile: this one is surplus.
      await instance.stop(this.config.stopTimeoutMs);
      return;
    }
    await this.#stopCurrent(instance, Promise.resolve(true));
  }

  #watch(instance: Instance): void {
    void instance.exited.then((exit) => {
      if (exit.leftovers) {
        // s6, runit and systemd's control group do the same: a service is its process and what
        // it started, and nothing of it outlives it. A daemon that forks must be told not to.
        this.log.warn({ service: this.name, child: instance.pid }, 'processes the service left running in its group were killed (a command must stay in the foreground)');
      }
      this.#onExit(instance, exit);
      this.emit('exit', instance);
    });
  }

  #onExit(instance: Instance, exit: ExitInfo): void {
    const state = this.#state;
    if (currentOf(state) !== instance) return;
    this.#lastExit = exit;
    if (state.kind === 'running' && this.#restart.newInstanceSpawned) {
      // The old instance died during an overlapped restart: the new one takes over when ready.
      this.log.warn({ service: this.name, child: instance.pid, code: exit.code, signal: exit.signal }, 'old instance exited during restart');
      this.#to({ kind: 'starting', instance: undefined });
      return;
    }
    // A stop we asked for (not a kill after a failed ready check: that is judged as a crash).
    if (state.kind === 'stopping') return;
    const uptime = exit.at - instance.activeSince;
    const fields = { service: this.name, child: instance.pid, code: exit.code, signal: exit.signal };
    const judgement = this.#recovery.judge(exit, instance.permanentFailure);
    if (judgement.action === 'stopped') {
      this.log.info(fields, 'service exited');
      this.#to({ kind: 'done', exit });
      return;
    }
    if (judgement.action === 'failed') {
      this.#reason = judgement.reason;
      this.log.error({ ...fields, reason: this.#reason }, 'service failed');
      this.#to({ kind: 'failed', reason: judgement.reason });
      return;
    }
    this.log.warn({ ...fields, delayMs: this.#retryLater(uptime) }, 'service exited: restarting');
  }

  /** Schedules the next launch after the backoff delay; returns the delay. */
  #retryLater(uptime: number): number {
    this.#to({ kind: 'backoff' });
    return this.#recovery.schedule(uptime, () => {
      if (this.#state.kind !== 'backoff') return;
      this.#restart.counted();
      this.#reason = undefined;
      void this.#launch();
    });
  }

  /** Stops the service (graceful, then SIGKILL at the deadline). Resolves true if it stopped cleanly. */
  async stop(): Promise<boolean> {
    this.#recovery.cancel();
    // The standby first, then the new instance of a restart under way, and a draining one.
    const others = this.#restart.stop(this.config.stopTimeoutMs);
    const instance = currentOf(this.#state);
    if (!instance || instance.child.exit) {
      if (this.#state.kind !== 'failed') this.#to({ kind: 'stopped' });
      return others;
    }
    return this.#stopCurrent(instance, others);
  }

  /** Stops the current instance; resolves true if it and `others` stopped cleanly. */
  async #stopCurrent(instance: Instance, others: Promise<boolean>): Promise<boolean> {
    this.#to({ kind: 'stopping', instance });
    this.log.info({ service: this.name, child: instance.pid }, 'stopping service');
    const { exit, killed } = await instance.stop(this.config.stopTimeoutMs);
    const clean = !killed && (exit.code === 0 || (!instance.isHearth && exit.signal === 'SIGTERM'));
    if (!clean) this.#stopClean = false;
    this.log[clean ? 'info' : 'warn']({ service: this.name, child: instance.pid, code: exit.code, signal: exit.signal, killed }, 'service stopped');
    this.#lastExit = exit;
    const othersClean = await others;
    if (this.#state.kind === 'stopping') this.#to({ kind: 'stopped' });
    return clean && othersClean;
  }

  /** Every stop so far was clean. */
  get stoppedCleanly(): boolean {
    return this.#stopClean;
  }

  /**
   * Replaces the running instance (with `next`'s config and listeners when given). Overlapped
   * when `overlaps` and the service is running: resolves once the new instance is ready and the
   * old one has drained and exited; rejects with a RestartError, leaving the old instance
   * serving, if the new one fails to become ready. Otherwise stop-then-start (resolves when the
   * start attempt settled: see `state`). Restarts of one unit run one after the other.
   */
  restart(next?: Reconfigure): Promise<void> {
    return this.#restart.restart(next);
  }

  /**
   * A new config (and its listeners) for a service the operator does not want up (stopped, or
   * stopping), or a failed one (no instance, nothing starts it again): it is used at the next
   * start; the service stays as it is, its reason kept.
   */
  reconfigure(next: Reconfigure): void {
    if (this.wanted && this.#state.kind !== 'failed') throw new Error(`${this.name}: only a stopped or failed service takes a new config without a restart (it is ${this.state})`);
    this.#adopt(next);
  }

  #adopt(next: Reconfigure): void {
    this.config = next.config;
    this.#held = next.held;
    this.#recovery = new Recovery(next.config);
  }

  /**
   * Settings applied in place: sends `reload` to the running instance and resolves with its
   * answer (ok, or the reason it refused). Never restarts anything itself.
   */
  async reloadInPlace(config: ServiceConfig, timeoutMs = 10_000): Promise<{ ok: boolean; error?: string }> {
    const state = this.#state;
    if (state.kind !== 'running' || state.instance.child.exit || !state.instance.isHearth) {
      return { ok: false, error: `not running (${this.state})` };
    }
    const instance = state.instance;
    const answer = await instance.reload(config.settings, timeoutMs);
    if (answer.ok) {
      this.config = config;
      // The standby was given the old settings: a fresh one gets the new.
      this.#restart.standby?.discard('settings reloaded');
      this.#restart.standby?.want();
    }
    return answer;
  }

  /** Stops the standby (if any) and resolves once it has exited; the service keeps running. */
  dropStandby(): Promise<void> {
    return this.#restart.standby?.stop() ?? Promise.resolve();
  }

  /** A reload that left the service unchanged but for its `standby:` switch. */
  adoptStandby(config: ServiceConfig): void {
    if (config.standby === this.config.standby) return;
    this.config = config;
    if (config.standby) this.#restart.standby?.want();
    else this.#restart.standby?.discard('standby: false');
  }

  /**
   * Kept down for a service it requires (not started, stopped with it, or stopped by a reload):
   * status shows why until it starts or is stopped on request. Only a stopped unit is kept down.
   */
  keepDown(cause: StopCause): void {
    if (this.#state.kind === 'stopped') this.#to({ kind: 'stopped', cause });
  }

  /** A failed unit a reload does not restart, as `keptFor.requires` is down: status says so until it starts. */
  keepFailed(keptFor: KeptFor): void {
    if (this.#state.kind === 'failed') this.#to({ kind: 'failed', reason: this.#state.reason, keptFor });
  }

  /** Why it is down when no stop was asked for it (`keepDown`), if it is. */
  get stopCause(): StopCause | undefined {
    return this.#state.kind === 'stopped' ? this.#state.cause : undefined;
  }

  /** Whether the operator wants it up (start) or down (stop). */
  get wanted(): boolean {
    return isWanted(this.#state.kind);
  }

  /** Whether it exited and its restart policy does not start it again (`done`, shown as stopped). */
  get ended(): boolean {
    return hasEnded(this.#state.kind);
  }

  /** Its state as the reason of a service that requires it names it: `exited` once `ended`, else `state`. */
  get stateAsRequirement(): RequirementState {
    return this.ended ? 'exited' : this.state;
  }

  /** Resolves when the unit is running; rejects if it ends up failed, ended or stopped first. */
  whenRunning(): Promise<void> {
    return untilRunning(this);
  }
}
