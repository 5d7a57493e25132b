/**
 * The supervisor: holds the listeners, the lifeline and the control socket, owns one unit per
 * service, starts them in dependency order, routes messages between them and stops them in
 * reverse order. `open` does everything that can fail up front (data dir, ports, watchdog,
 * socket) and undoes it all on a failure, so nothing is left half-started.
 */
import { fileURLToPath } from 'node:url';
import type { Logger } from '@hearth/log';
import { Lifeline, ProcessCore } from '@hearth/process';
import type { SuiteSettings } from '@hearth/runtime';
import { ConfigError } from '@hearth/config/errors';
import type { ServiceConfig, SuiteConfig } from './config.js';
import { loadSuiteConfigIsolated } from './config-isolated.js';
import { controlHandler } from './control-handler.js';
import { ControlServer } from './control-server.js';
import { StartupError, claimDataDir, type DataDirClaim } from './data-dir.js';
import { CycleError, startOrder } from './graph.js';
import type { InstanceDeps } from './instance.js';
import { ListenerError, type HeldListener } from './listeners.js';
import { LogHub, rawWriter } from './log-capture.js';
import { FiguresHub, FiguresPublisher, FIGURES_TOPIC, type MemoryScan } from './figures.js';
import { suiteStamp } from './reconcile.js';
import { applyReload, reloadDiff, warnStartOnly, type ReloadScope } from './reload.js';
import { tlsFilesStamp } from './tls-files.js';
import { MemorySnapshot } from './memory.js';
import type { Registry } from './registry.js';
import { startInOrder, stopInOrder } from './ordered.js';
import { restartRunning, startWithRequirements, stillStopped, stopWithDependents, type StartAnswer, type WalkScope } from './dependency-walks.js';
import { MessageRouter } from './router.js';
import { SocketPool } from './socket-pool.js';
import { StandbyQueue } from './standby.js';
import { ServiceUnit } from './unit.js';
import type { ServiceStatus } from './status.js';
import type { ReloadResult, RestartAllResult, StoppedWith } from './control-protocol.js';

export interface SupervisorOptions {
  readonly config: SuiteConfig;
  /** The service kinds a reloaded config may name (the embedded default runs one of each). */
  readonly registry: Registry;
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
  /**
   * Reads the config again for a reload (default: `config.file`, or the embedded default, read
   * in a worker thread so nothing it loads stays in the supervisor).
   */
  readonly loadConfig?: () => Promise<SuiteConfig>;
}

export function defaultLaunchPath(): string {
  return fileURLToPath(import.meta.resolve('@hearth/runtime/launch'));
}

export class Supervisor {
  readonly #units = new Map<string, ServiceUnit>();
  readonly #router: MessageRouter;
  /** Every service's counters across its instances; published to `hearth.figures` subscribers. */
  readonly #figures: FiguresHub;
  readonly #publisher: FiguresPublisher;
  /** The last /proc memory read, reused by the figures sent after a change. */
  #memory: MemorySnapshot | undefined;
  readonly #log: Logger;
  readonly #logs: LogHub;
  readonly #core: ProcessCore;
  /** Spawns warm standbys one at a time, once `startAll` has started everything. */
  readonly #standbys = new StandbyQueue();
  #order: string[] = [];
  #claim: DataDirClaim | undefined;
  #control: ControlServer | undefined;
  #lifeline: Lifeline | undefined;
  /** Every socket the supervisor holds; closed when no config and no live instance uses it. */
  readonly #sockets: SocketPool;
  /** The configured certificate's and key's contents as of the start or the last reload (`tls-files.ts`). */
  #tlsFiles: string | undefined;
  /** Reloads, restart --all and the sockets of stop and start run one at a time (`#inTurn`). */
  #serial: Promise<unknown> = Promise.resolve();
  /** The `hearth stop`s under way, by each service they stop (`dependency-walks.ts`). */
  readonly #stops = new Map<string, Promise<unknown>>();
  #shutdown: Promise<boolean> | undefined;
  #resolveDone: (clean: boolean) => void = () => {};
  /** Resolves with "stopped cleanly" once the supervisor has shut down. */
  readonly done: Promise<boolean>;

  private constructor(
    readonly options: SupervisorOptions,
    public config: SuiteConfig,
  ) {
    this.#log = options.log;
    this.#router = new MessageRouter(this.#units, options.log);
    this.#figures = new FiguresHub(options.log, () => this.#publisher.changed());
    this.#publisher = new FiguresPublisher(
      async (memory) => this.#figures.snapshot(await this.statusWithMemory(memory)),
      () => [...this.#units.values()].flatMap((u) => u.instances().filter((i) => i.subscriptions.has(FIGURES_TOPIC))),
      options.log,
    );
    this.#logs = new LogHub(rawWriter(options.log), options.ringSize ?? 1000);
    this.#core = options.core ?? new ProcessCore();
    this.#sockets = new SocketPool(options.log);
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
    this.#tlsFiles = await tlsFilesStamp(config.tls);
    const heldBy = await this.#sockets.bindAll(config.services);
    if (this.options.lifeline !== false) this.#lifeline = await Lifeline.start();
    for (const svc of config.services) this.#addUnit(svc, heldBy.get(svc.name) ?? []);
    const group = this.config.control?.group?.gid;
    this.#control = await ControlServer.listen(this.#claim.socketPath, controlHandler(this, this.#logs), group !== undefined ? { group } : {});
    this.#publisher.start();
    this.#log.info({ dataDir, socket: this.#claim.socketPath, services: this.#order }, 'supervisor ready');
  }

  #addUnit(svc: ServiceConfig, held: readonly HeldListener[]): ServiceUnit {
    const unit = new ServiceUnit(svc, held, this.#deps(), this.#log, this.#standbys);
    this.#units.set(svc.name, unit);
    unit.on('state', (state, why) => {
      // The service's own log (`hearth logs NAME`) says what became of it, and why.
      const level = state === 'failed' ? 50 : state === 'backoff' ? 40 : 30;
      const pid = unit.instance && !unit.instance.child.exit ? { pid: unit.instance.pid } : {};
      this.#logs.record(svc.name, JSON.stringify({ level, time: Date.now(), svc: svc.name, ...pid, msg: `state ${state}${why ? ` (${why})` : ''}` }));
      this.#publisher.changed();
    });
    unit.on('exit', (instance) => {
      this.#figures.ended(svc.name, instance.pid);
      void this.#sweepListeners();
    });
    return unit;
  }

  #deps(): InstanceDeps {
    const sup = this;
    return {
      core: this.#core,
      lifeline: this.#lifeline,
      logs: this.#logs,
      // Getters: a reload may change the suite's shared settings.
      get suite(): SuiteSettings {
        return { dataDir: sup.options.dataDir, mail: { domains: sup.config.mail.domains }, tls: sup.config.tls };
      },
      get suiteStamp(): string {
        return suiteStamp(sup.config, sup.#tlsFiles);
      },
      logLevel: this.options.logLevel,
      launchPath: defaultLaunchPath,
      onMessage: (from, msg) => (msg.t === 'counters' ? this.#figures.report(from.name, from.pid, msg) : this.#router.route(from, msg)),
      sharedProcessGroup: this.config.legacy.sharedProcessGroup,
    };
  }

  /** Whether a shutdown has begun. */
  get shuttingDown(): boolean {
    return this.#shutdown !== undefined;
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
   * `status()` with the memory of each service's processes and standby (read from /proc, or the
   * last read's with `last`) and its counters (totals across its instances).
   */
  async statusWithMemory(scan: MemoryScan = 'scan'): Promise<ServiceStatus[]> {
    const rows = this.status();
    const pids = rows.flatMap((r) => [r.pid, r.standbyPid]).filter((p): p is number => p !== null);
    const memory = scan === 'last' && this.#memory ? this.#memory : (this.#memory = await MemorySnapshot.take(pids));
    this.#figures.keepOnly(rows.map((r) => r.name));
    return this.#figures.withCounters(rows.map((r) => ({ ...r, rssBytes: memory.of(r.pid), standbyRssBytes: memory.of(r.standbyPid) })));
  }

  /**
   * Starts every service once its dependencies are running. Resolves when every start attempt
   * has settled (some may be in backoff or failed: see `status()`). Warm standbys are spawned
   * only after that, one at a time, so they never slow the start.
   */
  async startAll(): Promise<void> {
    await this.#startUnits(this.#order.map((n) => this.#units.get(n)!));
    if (!this.#shutdown) this.#standbys.open();
  }

  /** Starts `units` in dependency order; a dependency outside them counts as it is now. */
  async #startUnits(units: readonly ServiceUnit[]): Promise<void> {
    await startInOrder(this.#units, this.#order, new Set(units.map((u) => u.name)), () => this.#shutdown !== undefined, this.#log);
  }

  /** Stops every service, each after the services that depend on it. Resolves true if all stopped cleanly. */
  stopAll(): Promise<boolean> {
    return stopInOrder(this.#units, this.#order);
  }

  /** Graceful shutdown (SIGTERM, SIGINT, `hearth down`): idempotent. Resolves "stopped cleanly". */
  shutdown(reason: string): Promise<boolean> {
    if (!this.#shutdown) {
      this.#log.info({ reason }, 'shutting down');
      this.#shutdown = (async () => {
        let clean = false;
        try {
          // Standbys first: none may be promoted or spawned while the services stop (each unit's
          // stop waits for its standby's exit).
          this.#standbys.close();
          for (const u of this.#units.values()) void u.dropStandby();
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

  /** `hearth stop NAME`: it and first what requires it and is up (`dependency-walks.ts`). */
  stopService(name: string): Promise<StoppedWith[]> {
    return stopWithDependents(this.#walkScope(), name);
  }

  /** The services that require `name`, directly or not, and are stopped (`dependency-walks.ts`). */
  stillStopped(name: string): string[] {
    return stillStopped(this.#walkScope(), name);
  }

  /** `hearth start|restart NAME`: first what it requires, then what was held back for them (`dependency-walks.ts`). */
  startService(name: string, how: 'start' | 'restart'): Promise<StartAnswer> {
    return startWithRequirements(this.#walkScope(), name, how);
  }

  #walkScope(): WalkScope {
    return {
      units: this.#units,
      order: this.#order,
      log: this.#log,
      stops: this.#stops,
      startOne: (name, how) => this.#startOne(name, how),
      startUnits: (units) => this.#startUnits(units),
      closeListeners: (units) =>
        this.#inTurn(async () => {
          for (const unit of units) unit.letGoOfListeners();
          await this.#sweepListeners();
        }),
    };
  }

  async #startOne(name: string, how: 'start' | 'restart'): Promise<void> {
    const unit = this.#units.get(name)!;
    if (unit.withoutListeners) {
      await this.#inTurn(async () => {
        if (!unit.withoutListeners) return;
        const heldFor = await this.#sockets.reserve([unit.config]);
        this.#sockets.release();
        unit.takeListeners(heldFor.get(name) ?? []);
      });
    }
    await (how === 'start' ? unit.start() : unit.restart());
  }

  /** Runs `work` after the reloads and socket changes before it, and before those after it. */
  #inTurn<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(work);
    this.#serial = run.catch(() => {});
    return run;
  }

  /**
   * Applies a new config: new services start, removed ones stop, changed ones restart overlapped
   * (with rebound listeners where those changed), settings-only changes go to the service as a
   * `reload` message (an overlapped restart if it refuses), unchanged services are not touched.
   * A changed service that is stopped takes its new config for its next start and stays stopped.
   * A listener that cannot be bound rejects the whole change before anything is touched.
   */
  applyConfig(next: SuiteConfig): Promise<ReloadResult> {
    return this.#inTurn(() => this.#apply(next));
  }

  async #apply(next: SuiteConfig): Promise<ReloadResult> {
    if (this.#shutdown) throw new Error('the supervisor is shutting down');
    const prev = this.config;
    const { diff, tlsFiles } = await reloadDiff(prev, next, { tlsFiles: this.#tlsFiles, units: this.#units }, this.#log);
    const nextBy = new Map(next.services.map((s) => [s.name, s]));
    warnStartOnly(prev, next, this.options, this.#log);
    // Bind everything new first: a failure here changes nothing. A stopped service that let go of
    // its sockets (hearth stop) binds them at its next start, not now (that start waits for this
    // reload: `#startOne`).
    const binds = diff.restart.filter((name) => this.#units.get(name)!.wanted || !this.#units.get(name)!.withoutListeners);
    const heldFor = await this.#sockets.reserve([...diff.added, ...binds].map((name) => nextBy.get(name)!));
    this.#tlsFiles = tlsFiles;
    try {
      this.config = next;
      this.#order = startOrder(next.services);
      const result = await applyReload(this.#reloadScope(), diff, heldFor);
      // The config recorded is the one each service runs: one whose new instance did not come up
      // (the old one keeps serving) keeps its old config, so the next reload of the same file finds
      // it changed and tries again (recorded as new, it was found unchanged and never retried).
      this.config = { ...next, services: next.services.map((s) => this.#units.get(s.name)?.config ?? s) };
      return result;
    } finally {
      this.#sockets.release();
      await this.#sweepListeners();
    }
  }

  #reloadScope(): ReloadScope {
    return {
      units: this.#units,
      order: this.#order,
      next: new Map(this.config.services.map((s) => [s.name, s])),
      log: this.#log,
      addUnit: (svc, held) => this.#addUnit(svc, held),
      startUnits: (units) => this.#startUnits(units),
    };
  }

  /**
   * SIGHUP and `hearth reload`: reads the config again and applies it. An invalid config rejects
   * with its problems, one a line (file:line:column, key, message), and changes nothing. Every
   * rejection is logged here (a SIGHUP has no one else to tell).
   */
  async reload(): Promise<ReloadResult> {
    let next: SuiteConfig;
    try {
      next = await (this.options.loadConfig ?? (() => loadSuiteConfigIsolated(this.config.file, this.options.registry)))();
    } catch (err) {
      if (err instanceof ConfigError || err instanceof CycleError) {
        this.#log.error({ err: err.message }, 'reload refused: invalid config; nothing changed');
        throw new Error(err.message);
      }
      throw err;
    }
    return this.applyConfig(next).catch((err: unknown) => {
      // A listener that cannot be bound (before anything changed), or a shutdown under way.
      this.#log.error({ err: (err as Error).message }, 'reload failed');
      throw err;
    });
  }

  /** Replaces every running service, one by one in dependency order, each with the restart guarantee. */
  restartAll(): Promise<RestartAllResult> {
    return this.#inTurn(() => restartRunning(this.#walkScope(), () => this.#shutdown !== undefined));
  }

  /** Closes every held socket that no service's config and no live instance uses any more. */
  async #sweepListeners(): Promise<void> {
    if (!this.#shutdown) await this.#sockets.sweep(this.#units.values());
  }

  async #close(): Promise<void> {
    this.#publisher.stop();
    // Last resort: nothing we started may outlive us.
    this.#core.signalAll('SIGKILL');
    await this.#control?.close();
    this.#control = undefined;
    await this.#sockets.closeAll();
    this.#lifeline?.close();
    this.#lifeline = undefined;
    this.#claim?.release();
    this.#claim = undefined;
  }
}

export type { ServiceConfig };
