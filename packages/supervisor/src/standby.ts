/**
 * Warm standbys (Dovecot's `process_min_avail`, a pre-forked spare): for a Hearth service, one
 * extra instance that has loaded the service's code, holds the listener handles and waits
 * without listening. When the running instance dies, the unit promotes it (`start`) instead of
 * paying a cold Node start, so the service is serving again within milliseconds.
 *
 * - A `StandbySlot` per unit holds at most one standby. It is filled only when its unit says
 *   one is wanted (running, `standby: true`, no restart under way), respawned with backoff when
 *   it dies, discarded when the code or settings it loaded are no longer what a new instance
 *   must run (restart, reload), and stopped before its unit stops.
 * - One `StandbyQueue` per supervisor spawns standbys one at a time, each after the previous
 *   one is standing by, and only once `hearth up` has started every service: standbys never
 *   slow a start.
 */
import { Backoff } from '@hearth/process';
import type { ExitInfo } from '@hearth/process';
import type { Logger } from '@hearth/log';
import type { ServiceConfig } from './config.js';
import { Instance } from './instance.js';
import type { InstanceDeps } from './instance.js';
import type { HeldListener } from './listeners.js';

/** Time a discarded standby gets to exit after its `stop` (it holds no sessions). */
export const STANDBY_STOP_MS = 1000;
/**
 * After an operator's restart, the new standby waits this long (restarted again meanwhile: from
 * then): a rollout (`restart --all`, restarts under load) gives the CPU to the new instances
 * first, and a standby is not spawned only to be discarded by the next restart.
 */
export const STANDBY_AFTER_RESTART_MS = 2000;
/** Respawn delays of a standby that died: immediate, then 1 s doubling to 60 s; reset after 60 s up. */
const RESPAWN = { initialMs: 1000, maxMs: 60_000, stableMs: 60_000 } as const;

/** What a slot needs from its unit. */
export interface StandbyHost {
  readonly name: string;
  /** Whether a standby is wanted now. */
  wantsStandby(): boolean;
  /** Spawns a standby with the unit's current config and listeners. */
  spawnStandby(): Promise<Instance>;
  /** Whether `standby` runs what a new instance would run now (config, listeners, suite). */
  isCurrent(standby: Instance): boolean;
  /** How long a standby may take to stand by before the queue moves on (ms). */
  readonly readyTimeoutMs: number;
}

/** What a unit's standbys are made of: its current config, listeners and suite settings. */
export interface StandbyUnit {
  readonly config: ServiceConfig;
  readonly held: readonly HeldListener[];
  readonly deps: InstanceDeps;
}

/** The host of a unit's slot: a standby runs the unit's config of now on its listeners of now. */
export function standbyHostFor(unit: StandbyUnit, wantsStandby: () => boolean): StandbyHost {
  return {
    name: unit.config.name,
    wantsStandby,
    spawnStandby: () => Instance.spawn(unit.config, unit.held, unit.deps, { standby: true }),
    isCurrent: (s) => s.config === unit.config && s.listeners === unit.held && JSON.stringify(s.suite) === JSON.stringify(unit.deps.suite),
    get readyTimeoutMs() {
      return unit.config.readyTimeoutMs;
    },
  };
}

/** Spawns standbys one at a time, once opened. */
export class StandbyQueue {
  #open = false;
  #closed = false;
  #running = false;
  readonly #waiting = new Set<StandbySlot>();

  /** Starts spawning (after `hearth up` started everything). */
  open(): void {
    if (this.#closed) return;
    this.#open = true;
    void this.#drain();
  }

  /** Spawns nothing more (shutdown). */
  close(): void {
    this.#closed = true;
    this.#open = false;
    this.#waiting.clear();
  }

  enqueue(slot: StandbySlot): void {
    if (this.#closed) return;
    this.#waiting.add(slot);
    void this.#drain();
  }

  dequeue(slot: StandbySlot): void {
    this.#waiting.delete(slot);
  }

  async #drain(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      for (;;) {
        if (!this.#open) return;
        const next = this.#waiting.values().next();
        if (next.done) return;
        this.#waiting.delete(next.value);
        await next.value.fill();
      }
    } finally {
      this.#running = false;
    }
  }
}

export class StandbySlot {
  #instance: Instance | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Bumped by every discard: a spawn that started before it is retired when it lands. */
  #generation = 0;
  readonly #backoff = new Backoff(RESPAWN);
  readonly #retiring = new Set<Promise<unknown>>();

  constructor(
    readonly host: StandbyHost,
    readonly queue: StandbyQueue,
    readonly log: Logger,
  ) {}

  /** The standby's pid once it is standing by (ready to be promoted), else null. */
  get pid(): number | null {
    const s = this.#instance;
    return s && s.standingBy && !s.child.exit ? s.pid : null;
  }

  /**
   * Asks for a standby when there is none: spawned in the background, in the queue's turn
   * (after `delayMs` when given).
   */
  want(delayMs = 0): void {
    if (this.#instance || this.#timer) return;
    if (delayMs > 0) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.want();
      }, delayMs);
      return;
    }
    if (this.host.wantsStandby()) this.queue.enqueue(this);
  }

  /** The queue's turn: spawn one and wait until it stands by (or exits, or times out). */
  async fill(): Promise<void> {
    if (this.#instance || !this.host.wantsStandby()) return;
    const generation = this.#generation;
    let standby: Instance;
    try {
      standby = await this.host.spawnStandby();
    } catch (err) {
      this.log.warn({ service: this.host.name, err: (err as Error).message }, 'standby could not be started');
      this.#respawnLater(0);
      return;
    }
    if (generation !== this.#generation || this.#instance || !this.host.wantsStandby()) {
      this.#retire(standby, 'no longer wanted');
      return;
    }
    this.#instance = standby;
    void standby.exited.then((exit) => this.#onExit(standby, exit));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([standby.whenStandingBy(), new Promise<void>((resolve) => (timer = setTimeout(resolve, this.host.readyTimeoutMs)))]);
    clearTimeout(timer);
    if (this.#instance !== standby || standby.child.exit) return;
    if (standby.standingBy) this.log.info({ service: this.host.name, child: standby.pid }, 'standby ready');
    else this.log.warn({ service: this.host.name, child: standby.pid }, 'standby not standing by in time');
  }

  #onExit(standby: Instance, exit: ExitInfo): void {
    if (this.#instance !== standby) return;
    this.#instance = undefined;
    const delayMs = this.#respawnLater(exit.at - standby.child.startedAt);
    this.log.warn({ service: this.host.name, child: standby.pid, code: exit.code, signal: exit.signal, reason: standby.failure, delayMs }, 'standby exited');
  }

  /** A new standby after the backoff delay; returns the delay. */
  #respawnLater(uptimeMs: number): number {
    const delay = this.#backoff.next(uptimeMs);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.want();
    }, delay);
    return delay;
  }

  /**
   * Takes the standby out of the slot for its promotion: undefined when there is none, it has
   * exited, or it no longer runs what a new instance must run (then it is discarded).
   */
  take(): Instance | undefined {
    const standby = this.#instance;
    if (!standby) return undefined;
    this.#instance = undefined;
    if (standby.child.exit) return undefined;
    if (!this.host.isCurrent(standby)) {
      this.#retire(standby, 'outdated');
      return undefined;
    }
    return standby;
  }

  /**
   * Drops the standby and any spawn under way (a restart must run the code on disk now; new
   * settings): stopped in the background. `want()` asks for a fresh one.
   */
  discard(reason: string): void {
    this.#generation++;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.queue.dequeue(this);
    const standby = this.#instance;
    this.#instance = undefined;
    if (standby && !standby.child.exit) this.#retire(standby, reason);
  }

  /** Discards the standby and resolves once every standby this slot started has exited. */
  async stop(): Promise<void> {
    this.discard('service stopping');
    await Promise.all(this.#retiring);
  }

  #retire(standby: Instance, reason: string): void {
    this.log.info({ service: this.host.name, child: standby.pid, reason }, 'standby discarded');
    const done = standby.stop(STANDBY_STOP_MS).then(
      () => undefined,
      () => undefined,
    );
    this.#retiring.add(done);
    void done.then(() => this.#retiring.delete(done));
  }
}
