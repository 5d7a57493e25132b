/**
 * One configured service and its lifecycle: starting -> running, restarts with backoff after a
 * crash (`recovery.ts`), `failed` after a crash loop or a permanent error (exit 78),
 * graceful stop. A unit only ever touches its own instances: one service's crash never reaches
 * another.
 *
 * A restart is overlapped (`overlap.ts`) for every service that serves on sockets the
 * supervisor holds; a plain `command:` (it binds its own ports) is restarted stop-then-start.
 * A Hearth service keeps a warm standby (`standby.ts`) that a restart after a crash promotes
 * instead of spawning a cold process; an operator's restart or a settings reload discards it (a
 * new instance must run the code and settings of now).
 *
 * The lifecycle and the restart under way are two state machines (`unit-state.ts`), each one
 * value changed only by `#to` and `#toRestart`.
 */
import { EventEmitter } from 'node:events';
import { describeExit } from '@hearth/process';
import type { ExitInfo } from '@hearth/process';
import type { Logger } from '@hearth/log';
import type { ServiceConfig } from './config.js';
import { Instance } from './instance.js';
import type { InstanceDeps } from './instance.js';
import type { HeldListener } from './listeners.js';
import { NotReadyError, RestartError, drainOld, startReplacement, stopOverlapping } from './overlap.js';
import type { Reconfigure } from './overlap.js';
import { readyBeforeStart } from './ready.js';
import { Recovery } from './recovery.js';
import { STANDBY_AFTER_RESTART_MS, StandbySlot, standbyHostFor } from './standby.js';
import type { StandbyQueue } from './standby.js';
import { statusOf, untilRunning } from './status.js';
import type { ServiceState, ServiceStatus } from './status.js';
import { checkRestartMove, checkUnitMove, currentOf, describeFailure, describeStopCause, isWanted, publicState } from './unit-state.js';
import type { KeptFor, RestartState, StopCause, UnitState } from './unit-state.js';

export interface UnitEvents {
  /** What status shows changed; `why`: the exit or the reason behind it, where there is one. */
  state: [state: ServiceState, why: string | undefined];
  /** An instance this unit started has exited (current, pending or draining). */
  exit: [instance: Instance];
}

export class ServiceUnit extends EventEmitter<UnitEvents> {
  /** The lifecycle, with the current instance inside the states that have one. */
  #state: UnitState<Instance> = { kind: 'stopped' };
  /** The restart under way: the new instance of an overlapped one, the old one draining. */
  #restart: RestartState<Instance> = { kind: 'idle' };
  /** Restarts run one at a time. */
  #serial: Promise<unknown> = Promise.resolve();
  #held: readonly HeldListener[];
  /** Restart policy, crash-loop detection and backoff for the current config. */
  #recovery: Recovery;
  readonly #standby: StandbySlot | undefined;
  #restarts = 0;
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
    if (standbys) this.#standby = new StandbySlot(standbyHostFor(this, () => this.#wantsStandby()), standbys, log);
  }

  #wantsStandby(): boolean {
    return this.config.standby && this.#state.kind === 'running' && this.#restart.kind === 'idle';
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
    const r = this.#restart;
    const all = [currentOf(this.#state), r.kind === 'overlapping' ? r.fresh : undefined, r.kind === 'draining' ? r.old : undefined];
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
      standbyPid: this.#standby?.pid ?? undefined,
      restarts: this.#restarts,
      runningSince: state.kind === 'running' ? state.since : undefined,
      lastExit: this.#lastExit,
      reason: state.kind === 'stopped' && state.cause ? describeStopCause(state.cause) : state.kind === 'failed' ? describeFailure(state.reason, state.keptFor) : this.#reason,
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
    if (state === 'failed' || state === 'stopped') this.#standby?.discard(`service ${state}`);
    this.emit('state', state, this.#why(from, next));
  }

  /** Why the unit entered `next`, for its log: what `hearth logs NAME` tells of a crash or a stop. */
  #why(from: UnitState<Instance>['kind'], next: UnitState<Instance>): string | undefined {
    const last = this.#lastExit;
    const exit = last ? `${describeExit(last)}${last.leftovers ? ', the processes it left in its group killed' : ''}` : undefined;
    switch (next.kind) {
      case 'failed':
        return next.reason;
      case 'backoff':
        return exit;
      case 'done':
        return exit && `${exit}; restart: ${this.config.restart}`;
      case 'stopped':
        return from === 'stopping' ? exit : undefined;
      default:
        return undefined;
    }
  }

  /** The one place the restart machine changes. */
  #toRestart(next: RestartState<Instance>): void {
    checkRestartMove(this.name, this.#restart.kind, next.kind);
    this.#restart = next;
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
    const standby = this.#standby?.take();
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
    this.#standby?.want();
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
    const r = this.#restart;
    if (state.kind === 'running' && r.kind === 'overlapping' && r.fresh !== undefined) {
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
      this.#to({ kind: 'done' });
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
      this.#restarts++;
      this.#reason = undefined;
      void this.#launch();
    });
  }

  /** Stops the service (graceful, then SIGKILL at the deadline). Resolves true if it stopped cleanly. */
  async stop(): Promise<boolean> {
    this.#recovery.cancel();
    // The standby first: it must not be promoted, and it holds nothing worth draining (asked to
    // stop now, awaited with the rest).
    const standbyGone = this.#standby?.stop() ?? Promise.resolve();
    const r = this.#restart;
    const pending = r.kind === 'overlapping' ? r.fresh : undefined;
    if (r.kind === 'overlapping') this.#toRestart({ ...r, fresh: undefined });
    const draining = r.kind === 'draining' ? [r.old] : [];
    const others = stopOverlapping(pending, draining, this.config.stopTimeoutMs).then(async (clean) => {
      await standbyGone;
      return clean;
    });
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
    const run = this.#serial.then(async () => {
      try {
        await this.#restartOnce(next);
      } finally {
        if (this.#restart.kind !== 'idle') this.#toRestart({ kind: 'idle' });
      }
    });
    this.#serial = run.catch(() => {});
    return run;
  }

  async #restartOnce(next: Reconfigure | undefined): Promise<void> {
    // A restart is how new code and settings go live: a standby loaded before it is outdated.
    this.#standby?.discard('restart');
    const state = this.#state;
    const overlapped = this.overlaps && (next === undefined || next.config.run.type !== 'command');
    if (!overlapped || state.kind !== 'running' || state.instance.child.exit) {
      this.#toRestart({ kind: 'cold' });
      await this.stop();
      if (next) this.#adopt(next);
      this.#restarts++;
      await this.start();
      this.#standby?.want(STANDBY_AFTER_RESTART_MS);
      return;
    }
    const old = state.instance;
    this.#toRestart({ kind: 'overlapping', old, fresh: undefined });
    const config = next?.config ?? this.config;
    const held = next?.held ?? this.#held;
    const keeps = `the old instance (pid ${old.pid}) keeps serving`;
    const pendingIs = (i: Instance): boolean => this.#restart.kind === 'overlapping' && this.#restart.fresh === i;
    let fresh: Instance;
    try {
      fresh = await startReplacement({
        config,
        held,
        deps: this.deps,
        onSpawned: (i) => {
          this.#toRestart({ kind: 'overlapping', old, fresh: i });
          this.#watch(i);
          this.log.info({ service: this.name, child: i.pid, old: old.pid }, 'new instance started (overlapped restart)');
        },
        stillWanted: pendingIs,
      });
    } catch (err) {
      if (!(err instanceof NotReadyError)) throw new RestartError(`${this.name}: the new instance could not be started (${(err as Error).message}); ${keeps}`);
      this.#toRestart({ kind: 'idle' });
      this.log.warn({ service: this.name, child: err.pid, err: err.message }, 'new instance did not become ready: keeping the old one');
      this.#standby?.want(STANDBY_AFTER_RESTART_MS);
      if (currentOf(this.#state) === old && !old.child.exit) throw new RestartError(`${this.name}: the new instance did not become ready (${err.message}); ${keeps}`);
      const now = this.#state;
      if (now.kind === 'starting' && now.instance === undefined) this.#retryLater(0);
      throw new RestartError(`${this.name}: the new instance did not become ready (${err.message}); the old one has exited too`);
    }
    if (!pendingIs(fresh)) {
      // Stopped between its ready check and now.
      await fresh.stop(Math.min(this.config.stopTimeoutMs, 1000));
      throw new RestartError(`${this.name}: the service was stopped during the restart`);
    }
    // Promote the new instance, then drain the old one.
    if (next) this.#adopt(next);
    this.#restarts++;
    this.#reason = undefined;
    this.#to({ kind: 'running', instance: fresh, since: Date.now() });
    this.log.info({ service: this.name, child: fresh.pid }, 'service ready');
    if (!old.child.exit) {
      this.#toRestart({ kind: 'draining', old });
      if (!(await drainOld(this.name, old, this.config.stopTimeoutMs, this.log))) this.#stopClean = false;
    }
    this.#toRestart({ kind: 'idle' });
    // A fresh standby once the old instance is gone and no other restart followed for a while
    // (the CPU goes to new instances first).
    this.#standby?.want(STANDBY_AFTER_RESTART_MS);
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
      this.#standby?.discard('settings reloaded');
      this.#standby?.want();
    }
    return answer;
  }

  /** Stops the standby (if any) and resolves once it has exited; the service keeps running. */
  dropStandby(): Promise<void> {
    return this.#standby?.stop() ?? Promise.resolve();
  }

  /** A reload that left the service unchanged but for its `standby:` switch. */
  adoptStandby(config: ServiceConfig): void {
    if (config.standby === this.config.standby) return;
    this.config = config;
    if (config.standby) this.#standby?.want();
    else this.#standby?.discard('standby: false');
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

  /** Resolves when the unit is running; rejects if it ends up failed (or stopped) first. */
  whenRunning(): Promise<void> {
    return untilRunning(this);
  }
}
