/**
 * The supervisor: holds the listeners, the lifeline and the control socket, owns one unit per
 * service, starts them in dependency order, routes messages between them and stops them in
 * reverse order. `open` does everything that can fail up front (data dir, ports, watchdog,
 * socket) and undoes it all on a failure, so nothing is left half-started.
 */
import { fileURLToPath } from 'node:url';
import type { Logger } from '@hearth/log';
import { Lifeline, ProcessCore } from '@hearth/process';
import type { ServiceMessage, SuiteSettings } from '@hearth/runtime';
import type { ServiceConfig, SuiteConfig } from './config.js';
import { ControlServer } from './control-server.js';
import type { ControlRequest } from './control-protocol.js';
import { StartupError, claimDataDir } from './data-dir.js';
import type { DataDirClaim } from './data-dir.js';
import { dependenciesOf, startOrder } from './graph.js';
import type { Instance, InstanceDeps } from './instance.js';
import { ListenerError, bindListeners, closeListeners } from './listeners.js';
import type { HeldListener } from './listeners.js';
import { LogHub, rawWriter } from './log-capture.js';
import type { LogLine } from './log-capture.js';
import { ServiceUnit } from './unit.js';
import type { ServiceStatus } from './unit.js';

export interface SupervisorOptions {
  readonly config: SuiteConfig;
  /** Absolute data dir. */
  readonly dataDir: string;
  readonly log: Logger;
  readonly logLevel: string;
  /** The process core (tests may pass one with a fake spawn). */
  readonly core?: ProcessCore;
  /** Run the lifeline watchdog (default true). */
  readonly lifeline?: boolean;
  /** Lines kept per service for `hearth logs` (default 1000). */
  readonly ringSize?: number;
}

const MAX_TOPICS = 256;

export function defaultLaunchPath(): string {
  return fileURLToPath(import.meta.resolve('@hearth/runtime/launch'));
}

export class Supervisor {
  readonly #units = new Map<string, ServiceUnit>();
  readonly #log: Logger;
  readonly #logs: LogHub;
  readonly #core: ProcessCore;
  #order: string[] = [];
  #claim: DataDirClaim | undefined;
  #control: ControlServer | undefined;
  #lifeline: Lifeline | undefined;
  #held: HeldListener[] = [];
  #shutdown: Promise<boolean> | undefined;
  #resolveDone: (clean: boolean) => void = () => {};
  /** Resolves with "stopped cleanly" once the supervisor has shut down. */
  readonly done: Promise<boolean>;

  private constructor(
    readonly options: SupervisorOptions,
    public config: SuiteConfig,
  ) {
    this.#log = options.log;
    this.#logs = new LogHub(rawWriter(options.log), options.ringSize ?? 1000);
    this.#core = options.core ?? new ProcessCore();
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  /** Claims the data dir, binds every listener, starts the lifeline and the control socket. */
  static async open(options: SupervisorOptions): Promise<Supervisor> {
    const sup = new Supervisor(options, options.config);
    try {
      await sup.#open();
    } catch (err) {
      await sup.#close();
      if (err instanceof ListenerError || err instanceof StartupError) throw err;
      throw new StartupError((err as Error).message);
    }
    return sup;
  }

  async #open(): Promise<void> {
    const { config, dataDir } = this.options;
    this.#order = startOrder(config.services);
    this.#claim = await claimDataDir(dataDir);
    if (config.legacy.sharedProcessGroup) {
      this.#log.warn(
        { legacy: 'sharedProcessGroup' },
        'LEGACY MODE: every child runs in the supervisor\'s own process group; a signal sent to the group (kill 0, kill -PGID) reaches every service and the supervisor itself. For demonstrations only.',
      );
    }
    const heldBy = new Map<string, HeldListener[]>();
    for (const svc of config.services) {
      const held = await bindListeners(svc.name, svc.listen);
      this.#held.push(...held);
      heldBy.set(svc.name, held);
    }
    if (this.options.lifeline !== false) this.#lifeline = await Lifeline.start();
    const deps = this.#deps();
    for (const svc of config.services) {
      const unit = new ServiceUnit(svc, heldBy.get(svc.name) ?? [], deps, this.#log);
      this.#units.set(svc.name, unit);
      unit.on('state', (state) => this.#logs.record(svc.name, JSON.stringify({ level: 30, time: Date.now(), svc: svc.name, msg: `state ${state}` })));
    }
    this.#control = await ControlServer.listen(this.#claim.socketPath, {
      handle: (req) => this.#handle(req),
      follow: (name, onLine) => this.#follow(name, onLine),
    });
    this.#log.info({ dataDir, socket: this.#claim.socketPath, services: this.#order }, 'supervisor ready');
  }

  #deps(): InstanceDeps {
    const suite: SuiteSettings = {
      dataDir: this.options.dataDir,
      mail: { domains: this.config.mail.domains },
      tls: this.config.tls,
    };
    return {
      core: this.#core,
      lifeline: this.#lifeline,
      logs: this.#logs,
      suite,
      logLevel: this.options.logLevel,
      launchPath: defaultLaunchPath,
      onMessage: (from, msg) => this.#route(from, msg),
      sharedProcessGroup: this.config.legacy.sharedProcessGroup,
    };
  }

  get socketPath(): string | undefined {
    return this.#claim?.socketPath;
  }

  unit(name: string): ServiceUnit | undefined {
    return this.#units.get(name);
  }

  status(): ServiceStatus[] {
    return this.#order.map((n) => this.#units.get(n)!.status());
  }

  /**
   * Starts every service once its dependencies are running. Resolves when every start attempt
   * has settled (some may be in backoff or failed: see `status()`).
   */
  async startAll(): Promise<void> {
    const names = new Set(this.#order);
    const tasks = new Map<string, Promise<void>>();
    for (const name of this.#order) {
      const unit = this.#units.get(name)!;
      const cfg = unit.config;
      const waits = dependenciesOf(cfg, names).map(async (dep) => {
        const required = cfg.requires.includes(dep);
        await tasks.get(dep);
        try {
          await this.#units.get(dep)!.whenRunning();
        } catch (err) {
          if (required) throw err;
        }
      });
      tasks.set(
        name,
        Promise.all(waits).then(
          () => (this.#shutdown ? undefined : unit.start()),
          (err: Error) => {
            this.#log.error({ service: name, err: err.message }, 'service not started: a required service is not running');
          },
        ),
      );
    }
    await Promise.all(tasks.values());
  }

  /** Stops every service, each after the services that depend on it. Resolves true if all stopped cleanly. */
  async stopAll(): Promise<boolean> {
    const names = new Set(this.#order);
    const stops = new Map<string, Promise<boolean>>();
    for (const name of [...this.#order].reverse()) {
      const dependents = this.#order.filter((n) => dependenciesOf(this.#units.get(n)!.config, names).includes(name));
      const unit = this.#units.get(name)!;
      stops.set(name, Promise.all(dependents.map((d) => stops.get(d))).then(() => unit.stop()));
    }
    const results = await Promise.all(stops.values());
    return results.every(Boolean) && [...this.#units.values()].every((u) => u.stoppedCleanly);
  }

  /** Graceful shutdown (SIGTERM, SIGINT, `hearth down`): idempotent. Resolves "stopped cleanly". */
  shutdown(reason: string): Promise<boolean> {
    if (!this.#shutdown) {
      this.#log.info({ reason }, 'shutting down');
      this.#shutdown = (async () => {
        let clean = false;
        try {
          clean = await this.stopAll();
        } finally {
          await this.#close();
          this.#log.info({ clean }, 'supervisor stopped');
          this.#resolveDone(clean);
        }
        return clean;
      })();
    }
    return this.#shutdown;
  }

  /**
   * Re-read configuration hook (SIGHUP, `hearth reload`). Issue 3 fills it: diff `next` against
   * the running config, start new services, stop removed ones, restart changed ones overlapped,
   * rebind changed listeners, send `reload` for in-place settings.
   */
  applyConfig(_next: SuiteConfig): Promise<void> {
    return Promise.reject(new Error('reload is not implemented yet'));
  }

  async #close(): Promise<void> {
    // Last resort: nothing we started may outlive us.
    this.#core.signalAll('SIGKILL');
    await this.#control?.close();
    this.#control = undefined;
    await closeListeners(this.#held);
    this.#held = [];
    this.#lifeline?.close();
    this.#lifeline = undefined;
    this.#claim?.release();
    this.#claim = undefined;
  }

  async #handle(req: ControlRequest): Promise<unknown> {
    switch (req.verb) {
      case 'status':
        return this.status();
      case 'start':
      case 'stop':
      case 'restart': {
        const unit = this.#units.get(req.name);
        if (!unit) throw new Error(`no service named "${req.name}"`);
        if (this.#shutdown) throw new Error('the supervisor is shutting down');
        if (req.verb === 'start') await unit.start();
        else if (req.verb === 'stop') await unit.stop();
        else await unit.restart();
        return unit.status();
      }
      case 'logs': {
        if (req.name !== undefined && !this.#units.has(req.name)) throw new Error(`no service named "${req.name}"`);
        return this.#logs.recent(req.name, req.lines ?? 100);
      }
      case 'down':
        setImmediate(() => void this.shutdown('hearth down'));
        return { stopping: this.#order.length };
      case 'reload':
        return this.reload();
    }
  }

  /** Hook for SIGHUP and `hearth reload` (issue 3). */
  reload(): Promise<unknown> {
    this.#log.warn('reload requested: not implemented yet (issue 3)');
    return Promise.reject(new Error('reload is not implemented yet'));
  }

  #follow(name: string | undefined, onLine: (l: LogLine) => void): () => void {
    return this.#logs.follow((l) => {
      if (name === undefined || l.svc === name) onLine(l);
    });
  }

  #route(from: Instance, msg: ServiceMessage): void {
    if (msg.t === 'subscribe') {
      if (!Array.isArray(msg.topics)) return;
      for (const t of msg.topics) if (typeof t === 'string' && from.subscriptions.size < MAX_TOPICS) from.subscriptions.add(t);
      return;
    }
    if (msg.t !== 'msg' || typeof msg.topic !== 'string') return;
    const out = { t: 'msg', from: from.name, topic: msg.topic, payload: msg.payload } as const;
    if (msg.to !== undefined) {
      const target = this.#units.get(String(msg.to))?.instance;
      if (!target || !target.send(out)) this.#log.debug({ service: from.name, to: msg.to, topic: msg.topic }, 'message dropped: no running recipient');
      return;
    }
    for (const unit of this.#units.values()) {
      const target = unit.instance;
      if (target && target !== from && target.subscriptions.has(msg.topic)) target.send(out);
    }
  }
}

export type { ServiceConfig };
