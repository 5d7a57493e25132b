/**
 * Supervised mode: the child side of the supervisor's IPC protocol (see protocol.ts).
 *
 *   init -> listener* -> start -> (start the service) -> ready ... reload* ... stop -> exit 0
 *
 * A warm standby (init with `standby: true`) stops short of starting: once it holds every
 * listener handle and its settings parse, it answers `standing-by` and waits for `start` (no
 * start timeout: the supervisor promotes it when the active instance dies) or `stop`. Until
 * then it has loaded the service's code and nothing else: no listening, no stores, no bus.
 *
 * The returned promise resolves with the exit code; the service's main.ts exits with it.
 */
import { createLogger, flushLogger, type LogDestination, type Logger } from '@hearth/log';
import { CounterReporter } from '@hearth/metrics';
import type { BoundHandle } from './bound-handle.js';
import { ChannelBus } from './bus.js';
import { processChannel, type ServiceChannel } from './channel.js';
import { parseSettings, reloadInstance, startInstance, stopInstance } from './lifecycle.js';
import { HandlerTable } from './handler-table.js';
import { handedListener } from './listeners.js';
import { EX_CONFIG } from './protocol.js';
import type { ServiceMessage, SupervisorMessage } from './protocol.js';
import type { RunningService, ServiceDefinition, ServiceListener } from './service.js';
import { installFatalHandlers, installSignalHandlers } from './signals.js';

/** Exit code when started without a supervisor's channel (sysexits EX_USAGE). */
export const EX_USAGE = 64;

export interface RunServiceOptions {
  /**
   * The environment (default `process.env`). Read: HEARTH_INIT_TIMEOUT_MS, HEARTH_STOP_TIMEOUT_MS,
   * HEARTH_COUNTERS_INTERVAL_MS (the least time between two counter reports, default 1000).
   */
  readonly env?: NodeJS.ProcessEnv;
  /** The channel to the supervisor (default: the process's IPC channel). */
  readonly channel?: ServiceChannel;
  /** Install signal and uncaught-error handlers on `process` (default true). */
  readonly processHooks?: boolean;
  /** Where the service's log goes (default fd 1, JSON). */
  readonly logDestination?: LogDestination;
}

type InitMessage = Extract<SupervisorMessage, { t: 'init' }>;
type State = 'waiting-init' | 'waiting-start' | 'starting' | 'running' | 'stopping' | 'done';

/** Time to stop when the supervisor is gone. */
const ORPHAN_STOP_MS = 1000;

function envMs(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = Number(env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

class SupervisedInstance<S> {
  state: State = 'waiting-init';
  log: Logger;
  readonly #cleanups: Array<() => void> = [];
  readonly #handles = new Map<string, Array<{ index: number; handle: BoundHandle }>>();
  readonly #sends = new Set<Promise<void>>();
  #init: InitMessage | undefined;
  #running: RunningService<S> | undefined;
  #reporter: CounterReporter | undefined;
  #bus: ChannelBus | undefined;
  readonly #handlers = new HandlerTable<unknown>({ onCleanupError: (key, err) => this.log.error({ key, err }, 'handler cleanup failed') });
  #stopDeadline: number | undefined;
  #reloads: Promise<void> = Promise.resolve();
  #startTimer: NodeJS.Timeout | undefined;
  /** Standby: `standing-by` sent (or the settings were refused). */
  #announced = false;
  #resolve!: (code: number) => void;
  readonly done: Promise<number>;

  constructor(
    private readonly definition: ServiceDefinition<S>,
    private readonly channel: ServiceChannel,
    private readonly options: RunServiceOptions,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.done = new Promise((resolve) => (this.#resolve = resolve));
    this.log = this.#makeLogger(env['HEARTH_SERVICE'] ?? definition.kind, 'info');
  }

  begin(): void {
    if (this.options.processHooks !== false) {
      this.#cleanups.push(
        installSignalHandlers(() => this.log, { stop: (sig) => this.#onSignalStop(sig) }),
        installFatalHandlers((err, kind) => {
          this.log.fatal({ err }, kind);
          void this.#finish(1);
        }),
      );
    }
    this.#cleanups.push(
      this.channel.onMessage((m, h) => this.#onMessage(m, h)),
      this.channel.onDisconnect(() => this.#onDisconnect()),
    );
    const timeout = envMs(this.env, 'HEARTH_INIT_TIMEOUT_MS', 15_000);
    this.#startTimer = setTimeout(() => {
      this.log.error({ timeoutMs: timeout, state: this.state }, 'no start from the supervisor in time');
      void this.#finish(1);
    }, timeout);
    if (!this.channel.connected) this.#onDisconnect();
  }

  #makeLogger(svc: string, level: string, kind?: string): Logger {
    const base = kind === undefined ? {} : { kind };
    const destination = this.options.logDestination ?? 1;
    try {
      return createLogger({ svc, level, pretty: false, destination, base });
    } catch {
      return createLogger({ svc, level: 'info', pretty: false, destination, base });
    }
  }

  #send(message: ServiceMessage): void {
    if (!this.channel.connected) return;
    const sent = new Promise<void>((resolve) => {
      try {
        this.channel.send(message, () => resolve());
      } catch {
        resolve();
      }
    });
    this.#sends.add(sent);
    void sent.then(() => this.#sends.delete(sent));
  }

  #onMessage(message: SupervisorMessage, handle: BoundHandle | undefined): void {
    switch (message.t) {
      case 'init':
        return this.#onInit(message);
      case 'listener':
        if (!handle) {
          this.log.error({ listener: message.name }, 'listener message without a handle');
          return;
        }
        this.#handles.set(message.name, [...(this.#handles.get(message.name) ?? []), { index: message.index, handle }]);
        this.#standingBy();
        return;
      case 'start':
        if (this.state !== 'waiting-start') {
          this.log.warn({ state: this.state }, 'unexpected start message ignored');
          return;
        }
        this.state = 'starting';
        clearTimeout(this.#startTimer);
        if (this.#init?.standby === true) this.log.info('promoted from standby');
        void this.#start();
        return;
      case 'reload':
        this.#reloads = this.#reloads.then(() => this.#reload(message.settings, message.suite));
        return;
      case 'stop':
        return this.#requestStop(Date.now() + message.deadlineMs);
      case 'msg':
        if (this.#bus) this.#bus.dispatch(message.topic, message.payload, message.from);
        else this.log.debug({ topic: message.topic }, 'message before start dropped');
        return;
      default:
        this.log.warn({ message }, 'unknown message from the supervisor ignored');
    }
  }

  #onInit(message: InitMessage): void {
    if (this.state !== 'waiting-init') {
      this.log.warn('second init ignored');
      return;
    }
    this.#init = message;
    this.log = this.#makeLogger(message.service, message.logLevel, message.kind);
    this.state = 'waiting-start';
    if (message.standby === true) {
      // A standby waits for its promotion as long as the supervisor lives.
      clearTimeout(this.#startTimer);
      this.#standingBy();
    }
  }

  /** Standby: once every listener handle is here and the settings parse, say so (once). */
  #standingBy(): void {
    const init = this.#init;
    if (this.#announced || this.state !== 'waiting-start' || init?.standby !== true) return;
    if (!init.listeners.every((spec) => this.#handles.has(spec.name))) return;
    this.#announced = true;
    const parsed = parseSettings(this.definition.settings, init.settings);
    if (!parsed.ok) {
      this.log.error({ error: parsed.error }, 'invalid settings');
      this.#send({ t: 'failed', error: parsed.error, permanent: true });
      void this.#finish(EX_CONFIG);
      return;
    }
    this.#send({ t: 'standing-by' });
    this.log.debug('standing by');
  }

  #listeners(init: InitMessage): Map<string, ServiceListener> | string {
    const out = new Map<string, ServiceListener>();
    for (const spec of init.listeners) {
      if (out.has(spec.name)) continue;
      const handles = (this.#handles.get(spec.name) ?? []).sort((a, b) => a.index - b.index);
      const first = handles[0];
      if (!first) return `no socket handed down for listener "${spec.name}"`;
      out.set(spec.name, handedListener(spec, first.handle));
    }
    return out;
  }

  async #start(): Promise<void> {
    const init = this.#init!;
    const listeners = this.#listeners(init);
    if (typeof listeners === 'string') {
      this.log.error({ error: listeners }, 'cannot start');
      this.#send({ t: 'failed', error: listeners, permanent: false });
      return this.#finish(1);
    }
    this.#bus = new ChannelBus(this.channel, this.log);
    const started = await startInstance(this.definition, {
      name: init.service,
      rawSettings: init.settings,
      suite: init.suite,
      log: this.log,
      listeners,
      bus: this.#bus,
      handlers: this.#handlers,
    });
    if (!started.ok) {
      this.#send({ t: 'failed', error: started.error, permanent: started.permanent });
      return this.#finish(started.code);
    }
    this.#running = started.running;
    if (this.state !== 'starting') return; // finished meanwhile (fatal error)
    this.state = 'running';
    if (this.#stopDeadline !== undefined) return this.#stop(this.#stopDeadline);
    this.#send({ t: 'ready' });
    this.#reportCounters(started.running);
    this.log.info({ listeners: init.listeners.map((l) => `${l.name} ${l.address}:${l.port}/${l.protocol}`) }, 'ready');
  }

  /** Counters go to the supervisor at most once per interval, only when changed. */
  #reportCounters(running: RunningService<S>): void {
    if (!running.counters) return;
    const declaration = this.definition.counters;
    if (!declaration) {
      this.log.warn('counters without a declaration in the manifest: not reported');
      return;
    }
    let declared = false;
    this.#reporter = new CounterReporter(
      running.counters,
      (values) => {
        if (!this.channel.connected) return false;
        this.#send({ t: 'counters', values, ...(declared ? {} : { declaration }) });
        declared = true;
        return true;
      },
      envMs(this.env, 'HEARTH_COUNTERS_INTERVAL_MS', 1000),
    );
    this.#reporter.flush();
    this.#reporter.start();
  }

  async #reload(settings: unknown, suite: InitMessage['suite']): Promise<void> {
    if (this.state !== 'running' || !this.#running) {
      this.#send({ t: 'reloaded', ok: false, error: `not running (${this.state})` });
      return;
    }
    const result = await reloadInstance(this.definition, this.#running, settings, suite);
    if (result.ok) {
      this.log.info('settings reloaded');
      this.#send({ t: 'reloaded', ok: true });
    } else {
      this.log.warn({ error: result.error }, 'reload refused');
      this.#send({ t: 'reloaded', ok: false, error: result.error });
    }
  }

  #requestStop(deadline: number): void {
    switch (this.state) {
      case 'waiting-init':
      case 'waiting-start':
        void this.#finish(0);
        return;
      case 'starting':
        this.#stopDeadline = Math.min(deadline, this.#stopDeadline ?? Infinity);
        return;
      case 'running':
        void this.#stop(deadline);
        return;
      default:
        return;
    }
  }

  async #stop(deadline: number): Promise<void> {
    this.state = 'stopping';
    this.log.info({ deadlineMs: Math.max(0, deadline - Date.now()) }, 'stopping');
    const clean = await stopInstance(this.#running!, deadline, this.log, this.#handlers);
    // What the instance counted since its last report.
    this.#reporter?.flush();
    this.log.info('stopped');
    return this.#finish(clean ? 0 : 1);
  }

  #onSignalStop(signal: NodeJS.Signals): void {
    if (this.state === 'stopping') {
      this.log.warn({ signal }, 'second stop signal: exiting now');
      void this.#finish(1);
      return;
    }
    this.log.info({ signal }, 'stop signal');
    this.#requestStop(Date.now() + envMs(this.env, 'HEARTH_STOP_TIMEOUT_MS', 5000));
  }

  #onDisconnect(): void {
    this.#bus?.disconnected();
    if (this.state === 'done') return;
    this.log.warn('supervisor gone: stopping');
    this.#requestStop(Date.now() + ORPHAN_STOP_MS);
  }

  async #finish(code: number): Promise<void> {
    if (this.state === 'done') return;
    this.state = 'done';
    clearTimeout(this.#startTimer);
    this.#reporter?.stop();
    for (const c of this.#cleanups.splice(0)) c();
    await Promise.race([Promise.all(this.#sends), new Promise((r) => setTimeout(r, 500).unref())]);
    await flushLogger(this.log, 1000);
    this.#resolve(code);
  }
}

/**
 * Run `definition` under the supervisor. Resolves with the exit code: 0 after a requested stop,
 * 78 for a settings/config error, 1 for a failure, 64 without a supervisor's channel.
 */
export async function runService<S>(definition: ServiceDefinition<S>, options: RunServiceOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  const channel = options.channel ?? processChannel();
  if (!channel) {
    const log = createLogger({ svc: env['HEARTH_SERVICE'] ?? definition.kind, pretty: 'auto', destination: 2 });
    log.error('no IPC channel: Hearth services run under `hearth up`, or alone with `hearth run NAME`');
    await flushLogger(log, 1000);
    return EX_USAGE;
  }
  const instance = new SupervisedInstance(definition, channel, options, env);
  instance.begin();
  return instance.done;
}
