/**
 * What a reload changes: the difference between the running config and a new one, and which
 * held listeners the new config can keep.
 *
 * A service is `added`, `removed`, `unchanged`, `reload` (only its settings changed, or only the
 * suite's shared settings, the configured certificate's contents included, or its running
 * instance was given other shared settings than the running config's: sent as a `reload`
 * message, applied in place if the service can) or
 * `restart` (anything else changed: an overlapped restart with the new config).
 */
import type { ListenerSpec } from '@hearth/runtime';
import type { ServiceConfig, SuiteConfig } from './config.js';
import { bindListeners, closeListeners } from './listeners.js';
import type { HeldListener } from './listeners.js';

export interface ConfigDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly restart: readonly string[];
  readonly reload: readonly string[];
  readonly unchanged: readonly string[];
}

/**
 * The config of a service without its settings (and its `standby:` switch, applied without
 * touching the running instance), for comparison.
 */
function shape(s: ServiceConfig): string {
  const { settings: _settings, standby: _standby, ...rest } = s;
  return JSON.stringify(rest);
}

/** Whether the settings every Hearth service receives (`suite` in init) differ. */
export function suiteChanged(prev: SuiteConfig, next: SuiteConfig): boolean {
  return JSON.stringify([prev.mail, prev.tls]) !== JSON.stringify([next.mail, next.tls]);
}

/**
 * What identifies the shared settings a Hearth service is given (`suite` in init and reload): the
 * suite's `mail:` and `tls:`, and the configured certificate files' contents (`tlsFilesStamp`).
 * Each instance keeps the one it runs with (`Instance.suiteStamp`).
 */
export function suiteStamp(config: Pick<SuiteConfig, 'mail' | 'tls'>, tlsFiles: string | undefined): string {
  return JSON.stringify([config.mail, config.tls, tlsFiles ?? null]);
}

/**
 * `tlsFilesChanged`: the configured certificate or key has new contents under the same path (a
 * renewal, `tls-files.ts`): for the services, a change of the suite's shared settings.
 * `suiteBehind`: the services whose running instance runs other shared settings than `prev`'s
 * (it refused them in place and its restart failed): sent them again, as a change.
 */
export function diffConfigs(prev: SuiteConfig, next: SuiteConfig, tlsFilesChanged = false, suiteBehind: ReadonlySet<string> = new Set()): ConfigDiff {
  const before = new Map(prev.services.map((s) => [s.name, s]));
  const after = new Map(next.services.map((s) => [s.name, s]));
  const suite = tlsFilesChanged || suiteChanged(prev, next);
  const out = { added: [] as string[], removed: [] as string[], restart: [] as string[], reload: [] as string[], unchanged: [] as string[] };
  for (const name of before.keys()) if (!after.has(name)) out.removed.push(name);
  for (const [name, s] of after) {
    const old = before.get(name);
    if (!old) out.added.push(name);
    else if (shape(old) !== shape(s)) out.restart.push(name);
    else if (s.run.type === 'command' || s.run.type === 'per-connection') out.unchanged.push(name);
    else if (JSON.stringify(old.settings) !== JSON.stringify(s.settings) || suite || suiteBehind.has(name)) out.reload.push(name);
    else out.unchanged.push(name);
  }
  return out;
}

/** Listeners that are the same socket: protocol, address and a fixed (non-zero) configured port. */
function socketKey(spec: ListenerSpec, configuredPort: number): string | undefined {
  return configuredPort === 0 ? undefined : `${spec.protocol}|${spec.address}|${configuredPort}|${spec.ipv6Only === true ? 'v6only' : ''}`;
}

/**
 * The listeners for `config`: an already held socket when one matches (same protocol, address,
 * fixed port and IPv6-only flag, whatever service holds it now), else a newly bound one. On a bind failure,
 * closes what it bound and throws the ListenerError. `fresh` receives every newly bound one.
 */
export async function assignListeners(
  config: ServiceConfig,
  current: readonly HeldListener[],
  fresh: HeldListener[],
): Promise<HeldListener[]> {
  const pool = new Map<string, HeldListener>();
  for (const h of current) {
    const key = socketKey(h.spec, h.configuredPort);
    if (key !== undefined && !pool.has(key)) pool.set(key, h);
  }
  const out: HeldListener[] = [];
  const toBind: ListenerSpec[] = [];
  for (const spec of config.listen) {
    const key = socketKey(spec, spec.port);
    const have = key === undefined ? undefined : pool.get(key);
    if (have) out.push({ ...have, spec: { ...spec, port: have.spec.port } });
    else toBind.push(spec);
  }
  const bound = await bindListeners(config.name, toBind).catch(async (err: unknown) => {
    await closeListeners(fresh.splice(0));
    throw err;
  });
  fresh.push(...bound);
  out.push(...bound);
  // Keep the config's order (services may rely on it when listing their listeners).
  return config.listen.map((spec) => out.find((h) => h.spec.name === spec.name)!);
}
