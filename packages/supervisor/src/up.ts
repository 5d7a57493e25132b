/**
 * `hearth up`: load the config, open the supervisor, start everything, stop on SIGTERM/SIGINT or
 * `hearth down`, and return the exit code (0 only if everything stopped cleanly). Errors before
 * anything started are one line on stderr: 78 for a config problem, 1 otherwise.
 */
import { resolve } from 'node:path';
import { ConfigError, EX_CONFIG, formatProblem } from '@hearth/config/errors';
import { createLogger, flushLogger } from '@hearth/log';
import type { Logger } from '@hearth/log';
import { defaultSuiteConfig, loadSuiteConfig } from './config.js';
import type { SuiteConfig } from './config.js';
import { loadSuiteConfigIsolated } from './config-isolated.js';
import { CycleError } from './graph.js';
import { ListenerError } from './listeners.js';
import type { Registry } from './registry.js';
import type { ServiceStatus } from './status.js';
import { Supervisor } from './supervisor.js';

export interface UpOptions {
  /** The service kinds `service:` may name; the embedded default runs one of each. */
  readonly registry: Registry;
  /** Config file; absent: the embedded default. */
  readonly configFile?: string | undefined;
  /** --data, else $HEARTH_DATA, else the config's `data:`, else ./data (relative to cwd). */
  readonly dataDir?: string | undefined;
  readonly logLevel?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Where one-line errors go. */
  readonly stderr: { write(s: string): unknown };
  /** Resolves with the supervisor once it is open (tests, embedding). */
  readonly onOpen?: (sup: Supervisor) => void;
  /** Called once every service has started (the CLI prints its summary on a terminal). */
  readonly onReady?: (ready: { readonly status: readonly ServiceStatus[]; readonly dataDir: string }) => void | Promise<void>;
}

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const;

export function resolveDataDir(opts: Pick<UpOptions, 'dataDir' | 'env' | 'cwd'>, config?: SuiteConfig): string {
  const dir = opts.dataDir ?? opts.env['HEARTH_DATA'] ?? config?.data ?? './data';
  return resolve(opts.cwd, dir);
}

/**
 * Reads the config in this process (`hearth run`, which loads the service's code anyway, and
 * `hearth files`). `asSupervisor`: read it as `hearth up` does, running as root, whoever runs this
 * (its `user:` entries are checked, and applied by nothing here).
 */
export async function loadConfig(configFile: string | undefined, cwd: string, registry: Registry, asSupervisor = false): Promise<SuiteConfig> {
  const options = asSupervisor ? { registry, isRoot: true } : { registry };
  return configFile !== undefined ? loadSuiteConfig(resolve(cwd, configFile), options) : defaultSuiteConfig(options);
}

export async function runUp(opts: UpOptions): Promise<number> {
  let config: SuiteConfig;
  try {
    // In a worker thread: what reading the config takes is freed once it is read.
    config = await loadSuiteConfigIsolated(opts.configFile !== undefined ? resolve(opts.cwd, opts.configFile) : undefined, opts.registry);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof CycleError) {
      opts.stderr.write(`hearth up: ${err.message}\n`);
      return EX_CONFIG;
    }
    throw err;
  }
  const logLevel = opts.logLevel ?? config.logLevel;
  const log: Logger = createLogger({ svc: 'supervisor', level: logLevel });
  const dataDir = resolveDataDir(opts, config);
  let sup: Supervisor;
  try {
    sup = await Supervisor.open({ config, registry: opts.registry, dataDir, log, logLevel });
  } catch (err) {
    if (err instanceof ListenerError) {
      // A port in use or an address not ours: the config asks for what this host cannot give.
      opts.stderr.write(`hearth up: ${await listenerProblem(err, config)}\n`);
      await flushLogger(log);
      return EX_CONFIG;
    }
    opts.stderr.write(`hearth up: ${(err as Error).message}\n`);
    await flushLogger(log);
    return 1;
  }
  opts.onOpen?.(sup);
  const onSignal = (signal: NodeJS.Signals): void => {
    if ((signal === 'SIGTERM' || signal === 'SIGINT') && sup.shuttingDown) {
      // A second Ctrl-C: say what it waits for (each service gets its stopTimeout, then SIGKILL).
      log.info({ signal, stopping: sup.status().filter((s) => s.state === 'stopping').map((s) => s.name) }, 'already shutting down: waiting for the services to stop');
    } else if (signal === 'SIGTERM' || signal === 'SIGINT') void sup.shutdown(signal);
    // The supervisor logs a refused or failed reload itself.
    else if (signal === 'SIGHUP') sup.reload().catch(() => {});
    else log.info({ signal }, 'signal ignored');
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  try {
    await sup.startAll();
    if (!sup.shuttingDown) await opts.onReady?.({ status: sup.status(), dataDir });
    const clean = await sup.done;
    return clean ? 0 : 1;
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal);
    await flushLogger(log);
  }
}

/** The bind failure as a config problem: file:line:column of the listener, or the embedded default. */
async function listenerProblem(err: ListenerError, config: SuiteConfig): Promise<string> {
  if (config.file === undefined) return `${err.message} (the embedded default config: give a config file to change it)`;
  const { positionInFile } = await import('@hearth/config');
  const at = positionInFile(config.file, err.path);
  return formatProblem({ file: config.file, line: at?.line ?? 0, column: at?.column ?? 0, path: '', message: err.message });
}
