/**
 * The suite config (`hearth up --config FILE`): its shape once resolved, and the entry points
 * that read it.
 *
 * This module is light on purpose: the schemas, zod, yaml and the services' manifests live in
 * `config-build.ts`, imported only when a config is actually read. `hearth up` reads it in a
 * worker thread (`config-worker.ts`), so none of that stays in the supervisor's memory.
 */
import type { Limits, RestartPolicy } from '@hearth/process';
import type { ListenerSpec, ServiceDefinition } from '@hearth/runtime';
import type { Registry } from './registry.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** How a service is run. */
export type ServiceRun =
  /** A kind from the registry (`service: KIND`): `node ENTRY`. */
  | { readonly type: 'service'; readonly kind: string; readonly entry: string }
  /** A JS module exporting a ServiceDefinition: `node LAUNCH MODULE`. */
  | { readonly type: 'module'; readonly kind: string; readonly module: string }
  /** Any program. */
  | { readonly type: 'command'; readonly argv: readonly string[] }
  /**
   * Any program, run once per accepted connection with the socket as its stdin and stdout
   * (`type: per-connection`), by a small acceptor process holding the listeners.
   */
  | { readonly type: 'per-connection'; readonly argv: readonly string[]; readonly maxInstances: number };

/** Default cap on concurrent handlers of a per-connection service. */
export const DEFAULT_MAX_INSTANCES = 16;

export type ReadyCheck = { readonly tcp: { readonly host: string; readonly port: number } } | { readonly delayMs: number };

export interface ServiceConfig {
  readonly name: string;
  readonly run: ServiceRun;
  readonly requires: readonly string[];
  readonly after: readonly string[];
  readonly restart: RestartPolicy;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string | undefined;
  /** `user:` resolved: the service runs with its uid, primary gid and, unless `env` says otherwise, its HOME, USER and LOGNAME. */
  readonly user: { readonly name: string; readonly uid: number; readonly gid: number; readonly home: string } | undefined;
  readonly stopTimeoutMs: number;
  readonly readyTimeoutMs: number;
  readonly limits: Limits;
  readonly backoff: { readonly initialMs: number; readonly maxMs: number; readonly stableMs: number };
  readonly crashLoop: { readonly failures: number; readonly windowMs: number };
  /** Commands only: when the program counts as ready (absent: as soon as it runs). */
  readonly ready: ReadyCheck | undefined;
  /** Hearth and per-connection services: the listeners the supervisor binds and hands down. */
  readonly listen: readonly ListenerSpec[];
  /** Hearth services only: settings validated against the service's schema, defaults applied. */
  readonly settings: unknown;
  /**
   * Keep a warm standby instance (loaded, holding the listeners, not started) to promote at
   * once when the running one dies. `service:`/`module:` only; default true; always false for
   * commands.
   */
  readonly standby: boolean;
}

export interface SuiteConfig {
  /** The file it came from; undefined for the embedded default. */
  readonly file: string | undefined;
  /** `data:` from the file, absolute (relative to the file's folder); --data/$HEARTH_DATA win. */
  readonly data: string | undefined;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly mail: { readonly domains: readonly string[] };
  /** `names`: host names and IP addresses (IPv6 in its short form) the self-signed pair names; absent with `cert`/`key`. */
  readonly tls: { readonly cert?: string; readonly key?: string; readonly names?: readonly string[] };
  /** In the order they were written. */
  readonly services: readonly ServiceConfig[];
  /**
   * The control socket: 0600 and root's (the supervisor's user's) alone, unless `group` is set:
   * then 0660 and that group's, so a service running with that group (the admin page) may use it.
   * Read at `hearth up` only. Optional: absent means no group.
   */
  readonly control?: { readonly group: { readonly name: string; readonly gid: number } | undefined };
  /** Legacy behaviour kept for demonstrations; every flag defaults to false. */
  readonly legacy: {
    /**
     * Spawn every child in the supervisor's own process group (not in a session of its own).
     * Exists only to show what goes wrong without per-child groups (a group-wide signal reaches
     * every child and the supervisor); never use it for a real install.
     */
    readonly sharedProcessGroup: boolean;
  };
}

export interface LoadOptions {
  /** The kinds `service:` may name (see `registry.ts`). Default: none (only module: and command:). */
  readonly registry?: Registry;
  /** Whether hearth runs as root (`user:` is refused otherwise). Default: from the process. */
  readonly isRoot?: boolean;
  /** PATH used to check that commands exist. Default: the process's. */
  readonly path?: string | undefined;
}

/** The embedded default runs one service of each kind in the registry: it needs one. */
export interface DefaultOptions extends LoadOptions {
  readonly registry: Registry;
}

/** A module service's definition: its `definition` export (what `@hearth/runtime/launch` runs). */
export function pickDefinition(mod: Record<string, unknown>): ServiceDefinition<unknown> | undefined {
  const v = mod['definition'] as (Partial<ServiceDefinition<unknown>> & { start?: unknown }) | undefined;
  if (v && typeof v === 'object' && typeof v.kind === 'string' && v.settings && typeof v.start === 'function') {
    return v as ServiceDefinition<unknown>;
  }
  return undefined;
}

/** Read, validate and normalize a suite config file. Throws `ConfigError` (exit 78). */
export async function loadSuiteConfig(file: string, options: LoadOptions = {}): Promise<SuiteConfig> {
  return (await import('./config-build.js')).loadSuiteConfig(file, options);
}

/** The same from text (tests, reload from a string). */
export async function parseSuiteConfig(text: string, file: string, options: LoadOptions = {}): Promise<SuiteConfig> {
  return (await import('./config-build.js')).parseSuiteConfig(text, file, options);
}

/** The embedded default: no file, one service of each kind in `options.registry`. */
export async function defaultSuiteConfig(options: DefaultOptions): Promise<SuiteConfig> {
  return (await import('./config-build.js')).defaultSuiteConfig(options);
}
