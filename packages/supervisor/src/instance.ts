/**
 * One running process of a service. A Hearth service gets the IPC handshake (init, one listener
 * message per held socket with the handle, start) and is ready when it says so; a command is
 * ready after its ready check. Stopping asks (IPC `stop` or SIGTERM to the group), waits for the
 * deadline, then SIGKILLs the group.
 *
 * A warm standby gets the same handshake without `start` (init says `standby: true`): it loads
 * the service's code, takes the handles and answers `standing-by`; `promote()` sends the `start`.
 * Loading, standing by, active and stopping are one state (`instance-state.ts`), changed by `#on`.
 */
import { fileURLToPath } from 'node:url';
import type { ExitInfo, Lifeline, ManagedChild, ProcessCore } from '@hearth/process';
import { sendWithHandle } from '@hearth/runtime';
import type { ServiceMessage, SupervisorMessage, SuiteSettings } from '@hearth/runtime';
import type { ServiceConfig } from './config.js';
import type { HeldListener } from './listeners.js';
import type { LogHub } from './log-capture.js';
import { waitReady } from './ready.js';
import type { AcceptorSettings } from './acceptor.js';
import { isStandbyState, nextInstanceState } from './instance-state.js';
import type { InstanceEvent, InstanceState } from './instance-state.js';

/** The per-connection acceptor's entry point (`node ACCEPTOR`). */
const ACCEPTOR_PATH = fileURLToPath(new URL('./acceptor-main.js', import.meta.url));

/** Messages waiting to be written to one child at most; more are dropped (and counted). */
export const MAX_QUEUED_MESSAGES = 1024;
/** Time a Hearth service gets past its stop deadline to exit on its own before SIGKILL. */
export const STOP_GRACE_MS = 1000;

export interface InstanceDeps {
  readonly core: ProcessCore;
  readonly lifeline: Lifeline | undefined;
  readonly logs: LogHub;
  readonly suite: SuiteSettings;
  /** What identifies `suite` now, the certificate files' contents included (`suiteStamp` in reconcile.ts). */
  readonly suiteStamp: string;
  readonly logLevel: string;
  /** Absolute path of `@hearth/runtime/launch` (runs a `module:` service). */
  readonly launchPath: () => string;
  /** A message from a service for the supervisor: msg and subscribe for the router, counters for the totals. */
  readonly onMessage: (from: Instance, msg: ServiceMessage) => void;
  /** Legacy: children stay in the supervisor's process group (`legacy.sharedProcessGroup`). */
  readonly sharedProcessGroup?: boolean;
}

export interface SpawnOptions {
  /** Spawn as a warm standby: everything but `start` (see `promote`). Hearth services only. */
  readonly standby?: boolean;
}

export interface StopResult {
  readonly exit: ExitInfo;
  /** The group had to be SIGKILLed after the deadline. */
  readonly killed: boolean;
}

export class Instance {
  readonly subscriptions = new Set<string>();
  /** The service reported a permanent failure (`failed` with permanent: true). */
  permanentFailure: string | undefined;
  /** The error of the service's last `failed` message (permanent or not). */
  failure: string | undefined;
  /** Standby, serving or stopping (instance-state.ts): changed only by `#on`. */
  #state: InstanceState = { kind: 'active', since: undefined };
  #queued = 0;
  #dropped = 0;
  #readyResolve: (() => void) | undefined;
  #standingByResolve: (() => void) | undefined;
  #reloadWaiters: Array<(answer: { ok: boolean; error?: string }) => void> = [];
  /** The shared settings it runs with (`InstanceDeps.suiteStamp`): given at init, or by the last reload it accepted. */
  #suiteStamp: string;
  readonly #abort = new AbortController();

  private constructor(
    readonly config: ServiceConfig,
    readonly child: ManagedChild,
    readonly deps: InstanceDeps,
    /** The listeners this instance was handed (kept open while it lives). */
    readonly listeners: readonly HeldListener[],
    /** The suite settings it was given at init. */
    readonly suite: SuiteSettings,
  ) {
    this.#suiteStamp = deps.suiteStamp;
  }

  get name(): string {
    return this.config.name;
  }
  get pid(): number {
    return this.child.pid;
  }
  get exited(): Promise<ExitInfo> {
    return this.child.exited;
  }
  /** Asked to stop (or killed). */
  get stopping(): boolean {
    return this.#state.kind === 'stopping';
  }
  get droppedMessages(): number {
    return this.#dropped;
  }
  get isHearth(): boolean {
    return this.config.run.type !== 'command';
  }
  /** What identifies the shared settings it runs with (`InstanceDeps.suiteStamp`). */
  get suiteStamp(): string {
    return this.#suiteStamp;
  }

  /** Starts the process. Rejects with a one-line error if it could not be started. */
  static async spawn(config: ServiceConfig, listeners: readonly HeldListener[], deps: InstanceDeps, options: SpawnOptions = {}): Promise<Instance> {
    const run = config.run;
    const argv =
      run.type === 'command'
        ? run.argv
        : run.type === 'module'
          ? [process.execPath, deps.launchPath(), run.module]
          : run.type === 'per-connection'
            ? [process.execPath, ACCEPTOR_PATH]
            : [process.execPath, run.entry];
    const child = await deps.core.start({
      argv,
      env: {
        ...process.env,
        // As login(1) and systemd's User= set them: the supervisor's own HOME is root's.
        ...(config.user ? { HOME: config.user.home, USER: config.user.name, LOGNAME: config.user.name } : {}),
        ...(run.type === 'command' ? {} : { HEARTH_SERVICE: config.name }),
        ...config.env,
      } as Record<string, string>,
      ...(config.cwd !== undefined ? { cwd: config.cwd } : {}),
      ...(config.user ? { uid: config.user.uid, gid: config.user.gid } : {}),
      limits: config.limits,
      stdio: run.type === 'command' ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe', 'ipc'],
      ownGroup: deps.sharedProcessGroup !== true,
    });
    if (child.ownGroup) void deps.lifeline?.add(child.pid);
    else deps.lifeline?.addPid(child.pid);
    const instance = new Instance(config, child, deps, listeners, deps.suite);
    if (options.standby === true && (run.type === 'service' || run.type === 'module')) instance.#state = { kind: 'loading' };
    deps.logs.capture(config.name, child.pid, child.process.stdout, child.process.stderr);
    void child.exited.then(() => {
      if (child.ownGroup) void deps.lifeline?.del(child.pid);
      else deps.lifeline?.delPid(child.pid);
      instance.#abort.abort(new Error('exited before it was ready'));
      instance.#standingByResolve?.();
      for (const w of instance.#reloadWaiters.splice(0)) w({ ok: false, error: 'exited' });
    });
    if (run.type === 'per-connection') {
      instance.#handshake('per-connection', listeners, { argv: run.argv, maxInstances: run.maxInstances } satisfies AcceptorSettings);
    } else if (run.type !== 'command') instance.#handshake(run.kind, listeners, config.settings);
    return instance;
  }

  #handshake(kind: string, listeners: readonly HeldListener[], settings: unknown): void {
    const proc = this.child.process;
    proc.on('message', (msg: ServiceMessage) => this.#onMessage(msg));
    this.send({
      t: 'init',
      service: this.name,
      kind,
      settings,
      suite: this.suite,
      logLevel: this.deps.logLevel,
      listeners: listeners.map((l) => l.spec),
      ...(this.isStandby ? { standby: true } : {}),
    });
    for (const l of listeners) this.#sendListener(l);
    if (!this.isStandby) this.send({ t: 'start' });
  }

  #on(event: InstanceEvent): void {
    this.#state = nextInstanceState(this.#state, event);
  }

  /** A standby not promoted yet. */
  get isStandby(): boolean {
    return isStandbyState(this.#state);
  }

  /** A standby that said `standing-by`: loaded, holding every handle, settings valid. */
  get standingBy(): boolean {
    return this.#state.kind === 'standing-by';
  }

  /** Resolves once the standby is standing by, or has exited. */
  whenStandingBy(): Promise<void> {
    if (this.standingBy || this.child.exit) return Promise.resolve();
    return new Promise((resolve) => {
      const prev = this.#standingByResolve;
      this.#standingByResolve = () => {
        prev?.();
        resolve();
      };
    });
  }

  /** Turns a standby into a starting instance (sends `start`): false if it is gone. */
  promote(): boolean {
    if (!this.isStandby) return false;
    this.#on({ type: 'promote', at: Date.now() });
    return this.send({ t: 'start' });
  }

  /** When it began serving as an instance of its unit: spawned, or promoted from standby. */
  get activeSince(): number {
    const state = this.#state;
    return (state.kind === 'active' || state.kind === 'stopping' ? state.since : undefined) ?? this.child.startedAt;
  }

  #sendListener(l: HeldListener): void {
    const proc = this.child.process;
    if (!proc.connected || this.child.exit) return;
    sendWithHandle(proc as never, { t: 'listener', name: l.spec.name, index: l.index } satisfies SupervisorMessage, l.handle).catch(() => {});
  }

  #onMessage(msg: ServiceMessage): void {
    if (msg === null || typeof msg !== 'object') return;
    switch (msg.t) {
      case 'ready':
        this.#readyResolve?.();
        return;
      case 'standing-by':
        this.#on({ type: 'standing-by' });
        this.#standingByResolve?.();
        this.#standingByResolve = undefined;
        return;
      case 'failed':
        this.failure = String(msg.error);
        if (msg.permanent) this.permanentFailure = String(msg.error);
        return;
      case 'reloaded': {
        const w = this.#reloadWaiters.shift();
        if (w) w({ ok: msg.ok === true, ...(typeof msg.error === 'string' ? { error: msg.error } : {}) });
        return;
      }
      case 'listener-request': {
        // A per-connection acceptor that closed its copy at its cap wants the handle back.
        const l = this.listeners.find((x) => x.spec.name === msg.name);
        if (l && !this.stopping) this.#sendListener(l);
        return;
      }
      case 'msg':
      case 'subscribe':
      case 'counters':
        this.deps.onMessage(this, msg);
        return;
    }
  }

  /**
   * Resolves when the instance is ready (Hearth: its `ready` message; command: its ready check);
   * rejects if it exits first or `timeoutMs` passes.
   */
  ready(timeoutMs: number): Promise<void> {
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(timeoutMs)]);
    if (!this.isHearth) {
      return waitReady(this.config.ready, signal).catch((err: unknown) => {
        throw signal.aborted && (signal.reason as Error)?.name === 'TimeoutError' ? new Error(`not ready within ${timeoutMs} ms`) : err;
      });
    }
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const onAbort = (): void => {
        const reason = signal.reason as Error;
        reject(reason?.name === 'TimeoutError' ? new Error(`not ready within ${timeoutMs} ms`) : reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#readyResolve = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
    });
  }

  /** Sends an IPC message; false if the channel is gone or too many are queued (dropped). */
  send(msg: SupervisorMessage): boolean {
    const proc = this.child.process;
    if (!proc.connected || this.child.exit) return false;
    if (this.#queued >= MAX_QUEUED_MESSAGES) {
      this.#dropped++;
      return false;
    }
    this.#queued++;
    try {
      proc.send(msg, undefined, {}, () => {
        this.#queued--;
      });
    } catch {
      this.#queued--;
      return false;
    }
    return true;
  }

  /**
   * Sends `reload` with new settings and the suite's shared settings of now; resolves with the
   * service's answer, or not ok if it does not answer within `timeoutMs` or exits.
   */
  reload(settings: unknown, timeoutMs: number): Promise<{ ok: boolean; error?: string }> {
    if (!this.isHearth) return Promise.resolve({ ok: false, error: 'not a Hearth service' });
    const { suite, suiteStamp } = this.deps;
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = (answer: { ok: boolean; error?: string }): void => {
        clearTimeout(timer);
        if (answer.ok) this.#suiteStamp = suiteStamp;
        resolve(answer);
      };
      this.#reloadWaiters.push(waiter);
      timer = setTimeout(() => {
        this.#reloadWaiters = this.#reloadWaiters.filter((w) => w !== waiter);
        resolve({ ok: false, error: `no answer to reload within ${timeoutMs} ms` });
      }, timeoutMs);
      if (!this.send({ t: 'reload', settings, suite })) {
        this.#reloadWaiters = this.#reloadWaiters.filter((w) => w !== waiter);
        clearTimeout(timer);
        resolve({ ok: false, error: 'the IPC channel is closed' });
      }
    });
  }

  /** Asks the instance to stop, waits up to `timeoutMs`, then kills its group. */
  async stop(timeoutMs: number): Promise<StopResult> {
    this.#on({ type: 'stop' });
    if (this.child.exit) return { exit: this.child.exit, killed: false };
    const asked = this.isHearth && this.send({ t: 'stop', deadlineMs: timeoutMs });
    if (!asked) this.child.signal('SIGTERM');
    const wait = asked ? timeoutMs + STOP_GRACE_MS : timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.child.exited.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), wait))),
    ]);
    clearTimeout(timer);
    if (timedOut) this.child.signal('SIGKILL');
    return { exit: await this.child.exited, killed: timedOut };
  }

  /** Kills the group at once (a failed start, the last resort). */
  kill(): void {
    this.#on({ type: 'stop' });
    this.child.signal('SIGKILL');
  }
}
