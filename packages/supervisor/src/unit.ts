/**
 * One configured service and its lifecycle: starting -> running, restarts with backoff after a
 * crash, `failed` after a crash loop or a permanent error (exit 78), graceful stop. A unit only
 * ever touches its own instance: one service's crash never reaches another.
 *
 * The current instance is `instance`; issue 3's overlapped restart will hold a second one while
 * the new instance gets ready, which is why instances are their own objects.
 */
import { EventEmitter } from 'node:events';
import { Backoff, CrashLoopDetector, decideOnExit, describeExit } from '@hearth/process';
import type { ExitInfo } from '@hearth/process';
import type { Logger } from '@hearth/log';
import type { ServiceConfig } from './config.js';
import { Instance } from './instance.js';
import type { InstanceDeps } from './instance.js';
import type { HeldListener } from './listeners.js';

export type ServiceState = 'starting' | 'running' | 'stopping' | 'stopped' | 'backoff' | 'failed';

export interface ServiceStatus {
  readonly name: string;
  readonly type: 'service' | 'module' | 'command';
  readonly kind: string | undefined;
  readonly state: ServiceState;
  readonly pid: number | null;
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
}

export class ServiceUnit extends EventEmitter<UnitEvents> {
  #state: ServiceState = 'stopped';
  #instance: Instance | undefined;
  #backoff: Backoff;
  #crashLoop: CrashLoopDetector;
  #timer: NodeJS.Timeout | undefined;
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
    readonly held: readonly HeldListener[],
    readonly deps: InstanceDeps,
    readonly log: Logger,
  ) {
    super();
    this.#backoff = new Backoff(config.backoff);
    this.#crashLoop = new CrashLoopDetector(config.crashLoop);
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

  status(): ServiceStatus {
    const run = this.config.run;
    const inst = this.#instance && !this.#instance.child.exit ? this.#instance : undefined;
    return {
      name: this.name,
      type: run.type,
      kind: run.type === 'command' ? undefined : run.kind,
      state: this.#state,
      pid: inst?.pid ?? null,
      restarts: this.#restarts,
      uptimeMs: this.#state === 'running' && this.#runningSince !== undefined ? Date.now() - this.#runningSince : null,
      lastExit: this.#lastExit
        ? { code: this.#lastExit.code, signal: this.#lastExit.signal, at: new Date(this.#lastExit.at).toISOString() }
        : null,
      reason: this.#reason ?? null,
      listeners: this.held.map((l) => ({ name: l.spec.name, protocol: l.spec.protocol, address: l.spec.address, port: l.spec.port })),
    };
  }

  #set(state: ServiceState): void {
    if (this.#state === state) return;
    this.#state = state;
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
    let instance: Instance;
    try {
      instance = await Instance.spawn(this.config, this.held, this.deps);
    } catch (err) {
      this.#reason = (err as Error).message;
      this.log.error({ service: this.name, err: this.#reason }, 'service could not be started');
      this.#set('failed');
      return;
    }
    this.#instance = instance;
    this.log.info({ service: this.name, child: instance.pid }, 'service started');
    void instance.exited.then((exit) => this.#onExit(instance, exit));
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
  }

  #onExit(instance: Instance, exit: ExitInfo): void {
    if (this.#instance !== instance) return;
    this.#lastExit = exit;
    const uptime = exit.at - instance.child.startedAt;
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
    const delay = this.#backoff.next(uptime);
    this.log.warn({ ...fields, delayMs: delay }, 'service exited: restarting');
    this.#instance = undefined;
    this.#set('backoff');
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#wanted || this.#state !== 'backoff') return;
      this.#restarts++;
      this.#reason = undefined;
      void this.#launch();
    }, delay);
  }

  /** Stops the service (graceful, then SIGKILL at the deadline). Resolves true if it stopped cleanly. */
  async stop(): Promise<boolean> {
    this.#wanted = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const instance = this.#instance;
    if (!instance || instance.child.exit) {
      if (this.#state !== 'failed') this.#set('stopped');
      return true;
    }
    this.#set('stopping');
    this.log.info({ service: this.name, child: instance.pid }, 'stopping service');
    const { exit, killed } = await instance.stop(this.config.stopTimeoutMs);
    const clean = !killed && (exit.code === 0 || (!instance.isHearth && exit.signal === 'SIGTERM'));
    if (!clean) this.#stopClean = false;
    this.log[clean ? 'info' : 'warn']({ service: this.name, child: instance.pid, code: exit.code, signal: exit.signal, killed }, 'service stopped');
    if (this.#instance === instance) this.#instance = undefined;
    this.#lastExit = exit;
    this.#set('stopped');
    return clean;
  }

  /** Every stop so far was clean. */
  get stoppedCleanly(): boolean {
    return this.#stopClean;
  }

  /** Stop, then start (issue 3 turns this into an overlapped restart). */
  async restart(): Promise<void> {
    await this.stop();
    this.#restarts++;
    await this.start();
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
