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
 */
import { EventEmitter } from 'node:events';
import type { ExitInfo } from '@hearth/process';
import type { Logger } from '@hearth/log';
import type { ServiceConfig } from './config.js';
import { Instance } from './instance.js';
import type { InstanceDeps } from './instance.js';
import type { HeldListener } from './listeners.js';
import { NotReadyError, RestartError, drainOld, startReplacement, stopOverlapping } from './overlap.js';
import type { Reconfigure } from './overlap.js';
import { Recovery } from './recovery.js';
import { STANDBY_AFTER_RESTART_MS, StandbySlot, standbyHostFor } from './standby.js';
import type { StandbyQueue } from './standby.js';
import { statusOf, untilRunning } from './status.js';
import type { ServiceState, ServiceStatus } from './status.js';

export interface UnitEvents {
  state: [state: ServiceState];
  /** An instance this unit started has exited (current, pending or draining). */
  exit: [instance: Instance];
}

export class ServiceUnit extends EventEmitter<UnitEvents> {
  #state: ServiceState = 'stopped';
  #instance: Instance | undefined;
  /** The new instance of an overlapped restart, until it is ready. */
  #pending: Instance | undefined;
  /** Old instances asked to stop, draining their sessions. */
  readonly #draining = new Set<Instance>();
  /** Restarts run one at a time. */
  #serial: Promise<unknown> = Promise.resolve();
  /** A restart is under way (no standby is spawned meanwhile). */
  #restarting = false;
  #held: readonly HeldListener[];
  /** Restart policy, crash-loop detection and backoff for the current config. */
  #recovery: Recovery;
  readonly #standby: StandbySlot | undefined;
  #restarts = 0;
  #runningSince: number | undefined;
  #lastExit: ExitInfo | undefined;
  #reason: string | undefined;
  /** Whether the operator wants it up (start) or down (stop). */
  #wanted = false;
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
    return this.config.standby && this.#wanted && this.#state === 'running' && !this.#restarting;
  }

  get name(): string {
    return this.config.name;
  }
  get state(): ServiceState {
    return this.#state;
  }
  get instance(): Instance | undefined {
    return this.#instance;
  }
  /** The listeners the current config uses. */
  get held(): readonly HeldListener[] {
    return this.#held;
  }

  /** Every live instance: the current one, a new one getting ready, old ones draining. */
  instances(): Instance[] {
    const all = [this.#instance, this.#pending, ...this.#draining];
    return all.filter((i): i is Instance => i !== undefined && !i.child.exit);
  }

  /** Whether a restart overlaps the old and the new instance (sockets held by the supervisor). */
  get overlaps(): boolean {
    return this.config.run.type !== 'command';
  }

  status(): ServiceStatus {
    const inst = this.#instance && !this.#instance.child.exit ? this.#instance : undefined;
    return statusOf({
      config: this.config,
      state: this.#state,
      pid: inst?.pid,
      standbyPid: this.#standby?.pid ?? undefined,
      restarts: this.#restarts,
      runningSince: this.#runningSince,
      lastExit: this.#lastExit,
      reason: this.#reason,
      held: this.#held,
    });
  }

  #set(state: ServiceState): void {
    if (this.#state === state) return;
    this.#state = state;
    if (state === 'failed' || state === 'stopped') this.#standby?.discard(`service ${state}`);
    this.emit('state', state);
  }

  /**
   * Starts the service if it is not up. Resolves when it is running, or when this attempt ended
   * (it then is in backoff or failed; `state` tells). A manual start clears a failed state.
   */
  async start(): Promise<void> {
    this.#wanted = true;
    if (this.#state === 'running' || this.#state === 'starting' || this.#state === 'stopping') return;
    if (this.#state === 'failed') this.#recovery.reset();
    this.#recovery.cancel();
    this.#reason = undefined;
    await this.#launch();
  }

  async #launch(): Promise<void> {
    this.#set('starting');
    // A warm standby, if there is a current one, takes over at once; else a cold start.
    const standby = this.#standby?.take();
    let instance: Instance;
    if (standby?.promote()) {
      instance = standby;
      this.#instance = instance;
      this.log.info({ service: this.name, child: instance.pid }, 'standby promoted');
    } else {
      standby?.kill();
      try {
        instance = await Instance.spawn(this.config, this.#held, this.deps);
      } catch (err) {
        this.#reason = (err as Error).message;
        this.log.error({ service: this.name, err: this.#reason }, 'service could not be started');
        this.#set('failed');
        return;
      }
      this.#instance = instance;
      this.log.info({ service: this.name, child: instance.pid }, 'service started');
    }
    this.#watch(instance);
    if (!this.#wanted) {
      // Stopped while it was being spawned.
      await this.stop();
      return;
    }
    try {
      await instance.ready(this.config.readyTimeoutMs);
    } catch (err) {
      if (instance.child.exit || instance.stopping) return; // #onExit handles it
      this.#reason = (err as Error).message;
      this.log.warn({ service: this.name, child: instance.pid, err: this.#reason }, 'service did not become ready: killing it');
      instance.kill();
      return;
    }
    if (this.#instance !== instance || instance.child.exit) return;
    this.#runningSince = Date.now();
    this.#set('running');
    this.log.info({ service: this.name, child: instance.pid }, 'service ready');
    this.#standby?.want();
  }

  #watch(instance: Instance): void {
    void instance.exited.then((exit) => {
      this.#onExit(instance, exit);
      this.emit('exit', instance);
    });
  }

  #onExit(instance: Instance, exit: ExitInfo): void {
    if (this.#instance !== instance) return;
    this.#lastExit = exit;
    if (this.#pending) {
      // The old instance died during an overlapped restart: the new one takes over when ready.
      this.log.warn({ service: this.name, child: instance.pid, code: exit.code, signal: exit.signal }, 'old instance exited during restart');
      this.#instance = undefined;
      this.#runningSince = undefined;
      this.#set('starting');
      return;
    }
    const uptime = exit.at - instance.activeSince;
    this.#runningSince = undefined;
    if (instance.stopping && !this.#reason) {
      // A stop we asked for (or a kill after a failed ready check, which set #reason).
      return;
    }
    const fields = { service: this.name, child: instance.pid, code: exit.code, signal: exit.signal };
    if (!this.#wanted) return;
    const judgement = this.#recovery.judge(exit, instance.permanentFailure);
    if (judgement.action === 'stopped') {
      this.log.info(fields, 'service exited');
      this.#instance = undefined;
      this.#set('stopped');
      return;
    }
    if (judgement.action === 'failed') {
      this.#reason = judgement.reason;
      this.log.error({ ...fields, reason: this.#reason }, 'service failed');
      this.#instance = undefined;
      this.#set('failed');
      return;
    }
    this.log.warn({ ...fields, delayMs: this.#retryLater(uptime) }, 'service exited: restarting');
  }

  /** Schedules the next launch after the backoff delay; returns the delay. */
  #retryLater(uptime: number): number {
    this.#instance = undefined;
    this.#set('backoff');
    return this.#recovery.schedule(uptime, () => {
      if (!this.#wanted || this.#state !== 'backoff') return;
      this.#restarts++;
      this.#reason = undefined;
      void this.#launch();
    });
  }

  /** Stops the service (graceful, then SIGKILL at the deadline). Resolves true if it stopped cleanly. */
  async stop(): Promise<boolean> {
    this.#wanted = false;
    this.#recovery.cancel();
    // The standby first: it must not be promoted, and it holds nothing worth draining (asked to
    // stop now, awaited with the rest).
    const standbyGone = this.#standby?.stop() ?? Promise.resolve();
    const pending = this.#pending;
    this.#pending = undefined;
    const others = stopOverlapping(pending, this.#draining, this.config.stopTimeoutMs).then(async (clean) => {
      await standbyGone;
      return clean;
    });
    const instance = this.#instance;
    if (!instance || instance.child.exit) {
      const clean = await others;
      if (this.#state !== 'failed') this.#set('stopped');
      return clean;
    }
    this.#set('stopping');
    this.log.info({ service: this.name, child: instance.pid }, 'stopping service');
    const { exit, killed } = await instance.stop(this.config.stopTimeoutMs);
    const clean = !killed && (exit.code === 0 || (!instance.isHearth && exit.signal === 'SIGTERM'));
    if (!clean) this.#stopClean = false;
    this.log[clean ? 'info' : 'warn']({ service: this.name, child: instance.pid, code: exit.code, signal: exit.signal, killed }, 'service stopped');
    if (this.#instance === instance) this.#instance = undefined;
    this.#lastExit = exit;
    const othersClean = await others;
    this.#set('stopped');
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
      this.#restarting = true;
      try {
        await this.#restart(next);
      } finally {
        this.#restarting = false;
      }
    });
    this.#serial = run.catch(() => {});
    return run;
  }

  async #restart(next: Reconfigure | undefined): Promise<void> {
    // A restart is how new code and settings go live: a standby loaded before it is outdated.
    this.#standby?.discard('restart');
    const old = this.#instance;
    const overlapped = this.overlaps && (next === undefined || next.config.run.type !== 'command');
    if (!overlapped || this.#state !== 'running' || !old || old.child.exit) {
      await this.stop();
      if (next) this.#adopt(next);
      this.#restarts++;
      await this.start();
      this.#standby?.want(STANDBY_AFTER_RESTART_MS);
      return;
    }
    const config = next?.config ?? this.config;
    const held = next?.held ?? this.#held;
    const keeps = `the old instance (pid ${old.pid}) keeps serving`;
    let fresh: Instance;
    try {
      fresh = await startReplacement({
        config,
        held,
        deps: this.deps,
        onSpawned: (i) => {
          this.#pending = i;
          this.#watch(i);
          this.log.info({ service: this.name, child: i.pid, old: old.pid }, 'new instance started (overlapped restart)');
        },
        stillWanted: (i) => this.#pending === i,
      });
    } catch (err) {
      if (!(err instanceof NotReadyError)) throw new RestartError(`${this.name}: the new instance could not be started (${(err as Error).message}); ${keeps}`);
      if (this.#pending?.pid === err.pid) this.#pending = undefined;
      this.log.warn({ service: this.name, child: err.pid, err: err.message }, 'new instance did not become ready: keeping the old one');
      this.#standby?.want(STANDBY_AFTER_RESTART_MS);
      if (this.#instance === old && !old.child.exit) throw new RestartError(`${this.name}: the new instance did not become ready (${err.message}); ${keeps}`);
      if (this.#wanted && (this.#state as ServiceState) === 'starting' && !this.#instance) this.#retryLater(0);
      throw new RestartError(`${this.name}: the new instance did not become ready (${err.message}); the old one has exited too`);
    }
    // Promote the new instance, then drain the old one.
    this.#pending = undefined;
    if (next) this.#adopt(next);
    this.#instance = fresh;
    this.#restarts++;
    this.#reason = undefined;
    this.#runningSince = Date.now();
    this.#set('running');
    this.log.info({ service: this.name, child: fresh.pid }, 'service ready');
    if (!old.child.exit) {
      this.#draining.add(old);
      if (!(await drainOld(this.name, old, this.config.stopTimeoutMs, this.log))) this.#stopClean = false;
      this.#draining.delete(old);
    }
    // A fresh standby once the old instance is gone and no other restart followed for a while
    // (the CPU goes to new instances first).
    this.#standby?.want(STANDBY_AFTER_RESTART_MS);
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
    const instance = this.#instance;
    if (this.#state !== 'running' || !instance || instance.child.exit || !instance.isHearth) {
      return { ok: false, error: `not running (${this.#state})` };
    }
    const answer = await instance.reload(config.settings, this.deps.suite, timeoutMs);
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

  /** Whether the operator wants it up (start) or down (stop). */
  get wanted(): boolean {
    return this.#wanted;
  }

  /** Resolves when the unit is running; rejects if it ends up failed (or stopped) first. */
  whenRunning(): Promise<void> {
    return untilRunning(this);
  }
}
