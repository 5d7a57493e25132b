/**
 * One configured service and its lifecycle: starting -> running, restarts with backoff after a
 * crash, `failed` after a crash loop or a permanent error (exit 78), graceful stop. A unit only
 * ever touches its own instance: one service's crash never reaches another.
 *
 * Restart is overlapped for every service that serves on sockets the supervisor holds (Hearth
 * services, modules, per-connection acceptors): the new instance starts on the same listeners,
 * and only once it is ready is the old one asked to stop and drain, so the listening sockets
 * never lack an accepting process. A new instance that does not become ready is stopped and
 * the old one keeps serving. A plain `command:` (no held sockets, it binds its own ports) is
 * restarted stop-then-start: two copies could not bind the same port.
 *
 * Warm standby (`standby: true`, the default for Hearth services): once the service runs, a
 * standby instance is kept loaded and holding the listeners (see standby.ts). After a crash,
 * the restart promotes it instead of spawning a cold process; a new standby follows in the
 * background. A restart or a settings reload discards it: a new instance must run the code and
 * settings of now.
 */
import { EventEmitter } from 'node:events';
import { Backoff, CrashLoopDetector, decideOnExit, describeExit } from '@hearth/process';
import type { ExitInfo } from '@hearth/process';
import type { Logger } from '@hearth/log';
import type { ServiceConfig } from './config.js';
import { Instance } from './instance.js';
import type { InstanceDeps } from './instance.js';
import type { HeldListener } from './listeners.js';
import { STANDBY_AFTER_RESTART_MS, StandbySlot } from './standby.js';
import type { StandbyQueue } from './standby.js';

export type ServiceState = 'starting' | 'running' | 'stopping' | 'stopped' | 'backoff' | 'failed';

export interface ServiceStatus {
  readonly name: string;
  readonly type: 'service' | 'module' | 'command' | 'per-connection';
  readonly kind: string | undefined;
  readonly state: ServiceState;
  readonly pid: number | null;
  /** The warm standby's pid once it stands by (ready to take over), else null. */
  readonly standbyPid: number | null;
  readonly restarts: number;
  /** Time since the current instance became ready (running), else null. */
  readonly uptimeMs: number | null;
  readonly lastExit: { readonly code: number | null; readonly signal: string | null; readonly at: string } | null;
  /** Why the service is failed (or why the last start failed). */
  readonly reason: string | null;
  readonly listeners: readonly { readonly name: string; readonly protocol: string; readonly address: string; readonly port: number }[];
}

export interface UnitEvents {
  state: [state: ServiceState];
  /** An instance this unit started has exited (current, pending or draining). */
  exit: [instance: Instance];
}

/** An overlapped restart failed: the old instance (if any) keeps serving. One line. */
export class RestartError extends Error {
  override readonly name = 'RestartError';
}

/** What a restart changes besides the process: a new config and the listeners it uses. */
export interface Reconfigure {
  readonly config: ServiceConfig;
  readonly held: readonly HeldListener[];
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
  #backoff: Backoff;
  #crashLoop: CrashLoopDetector;
  #timer: NodeJS.Timeout | undefined;
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
    this.#backoff = new Backoff(config.backoff);
    this.#crashLoop = new CrashLoopDetector(config.crashLoop);
    if (standbys) {
      const getConfig = (): ServiceConfig => this.config;
      this.#standby = new StandbySlot(
        {
          name: config.name,
          wantsStandby: () => this.#wantsStandby(),
          spawnStandby: () => Instance.spawn(this.config, this.#held, this.deps, { standby: true }),
          isCurrent: (s) => s.config === this.config && s.listeners === this.#held && JSON.stringify(s.suite) === JSON.stringify(this.deps.suite),
          get readyTimeoutMs() {
            return getConfig().readyTimeoutMs;
          },
        },
        standbys,
        log,
      );
    }
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
    const run = this.config.run;
    const inst = this.#instance && !this.#instance.child.exit ? this.#instance : undefined;
    return {
      name: this.name,
      type: run.type,
      kind: run.type === 'command' || run.type === 'per-connection' ? undefined : run.kind,
      state: this.#state,
      pid: inst?.pid ?? null,
      standbyPid: this.#standby?.pid ?? null,
      restarts: this.#restarts,
      uptimeMs: this.#state === 'running' && this.#runningSince !== undefined ? Date.now() - this.#runningSince : null,
      lastExit: this.#lastExit
        ? { code: this.#lastExit.code, signal: this.#lastExit.signal, at: new Date(this.#lastExit.at).toISOString() }
        : null,
      reason: this.#reason ?? null,
      listeners: this.#held.map((l) => ({ name: l.spec.name, protocol: l.spec.protocol, address: l.spec.address, port: l.spec.port })),
    };
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
    if (this.#state === 'failed') {
      this.#crashLoop.reset();
      this.#backoff.reset();
    }
    clearTimeout(this.#timer);
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
    const decision = decideOnExit(this.config.restart, exit, instance.permanentFailure !== undefined);
    if (decision.action === 'stopped') {
      this.log.info(fields, 'service exited');
      this.#instance = undefined;
      this.#set('stopped');
      return;
    }
    if (decision.action === 'failed') {
      this.#reason = instance.permanentFailure ?? decision.reason;
      this.log.error({ ...fields, reason: this.#reason }, 'service failed');
      this.#instance = undefined;
      this.#set('failed');
      return;
    }
    if (this.#crashLoop.record(exit.at)) {
      const { failures, windowMs } = this.config.crashLoop;
      this.#reason = `crash loop: ${failures} failures within ${windowMs} ms (last: ${describeExit(exit)})`;
      this.log.error({ ...fields, reason: this.#reason }, 'service failed');
      this.#instance = undefined;
      this.#set('failed');
      return;
    }
    this.log.warn({ ...fields, delayMs: this.#retryLater(uptime) }, 'service exited: restarting');
  }

  /**
   * Schedules the next launch after the backoff delay; returns the delay. No delay: right after
   * the current handler (a standby is promoted within the same turn of the event loop).
   */
  #retryLater(uptime: number): number {
    const delay = this.#backoff.next(uptime);
    this.#instance = undefined;
    this.#set('backoff');
    const relaunch = (): void => {
      if (!this.#wanted || this.#state !== 'backoff') return;
      this.#restarts++;
      this.#reason = undefined;
      void this.#launch();
    };
    if (delay === 0) {
      queueMicrotask(relaunch);
      return 0;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      relaunch();
    }, delay);
    return delay;
  }

  /** Stops the service (graceful, then SIGKILL at the deadline). Resolves true if it stopped cleanly. */
  async stop(): Promise<boolean> {
    this.#wanted = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    // The standby first: it must not be promoted, and it holds nothing worth draining (asked to
    // stop now, awaited with the rest).
    const standbyGone = this.#standby?.stop() ?? Promise.resolve();
    const others = this.#stopOthers().then(async (clean) => {
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

  /** At a stop: the pending new instance is dropped, draining ones get until their deadline. */
  async #stopOthers(): Promise<boolean> {
    const pending = this.#pending;
    this.#pending = undefined;
    const waits: Promise<boolean>[] = [...this.#draining].map((i) => i.exited.then(() => true));
    if (pending && !pending.child.exit) {
      waits.push(pending.stop(this.config.stopTimeoutMs).then((r) => !r.killed));
    }
    return (await Promise.all(waits)).every(Boolean);
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
      fresh = await Instance.spawn(config, held, this.deps);
    } catch (err) {
      throw new RestartError(`${this.name}: the new instance could not be started (${(err as Error).message}); ${keeps}`);
    }
    this.#pending = fresh;
    this.#watch(fresh);
    this.log.info({ service: this.name, child: fresh.pid, old: old.pid }, 'new instance started (overlapped restart)');
    try {
      await fresh.ready(config.readyTimeoutMs);
      if (this.#pending !== fresh) throw new Error('the service was stopped meanwhile');
    } catch (err) {
      const why = fresh.failure ?? (err as Error).message;
      if (this.#pending === fresh) this.#pending = undefined;
      if (!fresh.child.exit) await fresh.stop(Math.min(config.stopTimeoutMs, 1000));
      this.log.warn({ service: this.name, child: fresh.pid, err: why }, 'new instance did not become ready: keeping the old one');
      this.#standby?.want(STANDBY_AFTER_RESTART_MS);
      if (this.#instance === old && !old.child.exit) throw new RestartError(`${this.name}: the new instance did not become ready (${why}); ${keeps}`);
      if (this.#wanted && (this.#state as ServiceState) === 'starting' && !this.#instance) this.#retryLater(0);
      throw new RestartError(`${this.name}: the new instance did not become ready (${why}); the old one has exited too`);
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
      this.log.info({ service: this.name, child: old.pid }, 'draining the old instance');
      const { exit, killed } = await old.stop(this.config.stopTimeoutMs);
      this.#draining.delete(old);
      if (killed) this.#stopClean = false;
      this.log[killed ? 'warn' : 'info']({ service: this.name, child: old.pid, code: exit.code, signal: exit.signal, killed }, 'old instance stopped');
    }
    // A fresh standby once the old instance is gone and no other restart followed for a while
    // (the CPU goes to new instances first).
    this.#standby?.want(STANDBY_AFTER_RESTART_MS);
  }

  #adopt(next: Reconfigure): void {
    this.config = next.config;
    this.#held = next.held;
    this.#backoff = new Backoff(next.config.backoff);
    this.#crashLoop = new CrashLoopDetector(next.config.crashLoop);
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

  /** Resolves when the unit is running; rejects if it ends up failed (or stopped) first. */
  whenRunning(): Promise<void> {
    if (this.#state === 'running') return Promise.resolve();
    if (this.#state === 'failed') return Promise.reject(new Error(`${this.name} failed`));
    return new Promise((resolve, reject) => {
      const on = (state: ServiceState): void => {
        if (state === 'running') {
          this.off('state', on);
          resolve();
        } else if (state === 'failed' || (state === 'stopped' && !this.#wanted)) {
          this.off('state', on);
          reject(new Error(`${this.name} ${state}`));
        }
      };
      this.on('state', on);
    });
  }
}
