/**
 * The two halves of an overlapped restart, for every service that serves on sockets the
 * supervisor holds (Hearth services, modules, per-connection acceptors): the new instance
 * starts on the same listeners, and only once it is ready is the old one asked to stop and
 * drain, so the listening sockets never lack an accepting process. A new instance that does
 * not become ready is stopped and the old one keeps serving. (A plain `command:` binds its own
 * ports: two copies could not, so it is restarted stop-then-start.) The unit (`unit.ts`)
 * decides when and keeps the state; these do the process work.
 */
import type { Logger } from '@hearth/log';
import type { ServiceConfig } from './config.js';
import { Instance } from './instance.js';
import type { InstanceDeps } from './instance.js';
import type { HeldListener } from './listeners.js';

/** An overlapped restart failed: the old instance (if any) keeps serving. One line. */
export class RestartError extends Error {
  override readonly name = 'RestartError';
}

/** What a restart changes besides the process: a new config and the listeners it uses. */
export interface Reconfigure {
  readonly config: ServiceConfig;
  readonly held: readonly HeldListener[];
}

/** The new instance did not become ready (it has been stopped): `why` says what happened. */
export class NotReadyError extends Error {
  override readonly name = 'NotReadyError';
  constructor(
    message: string,
    /** The new instance's pid. */
    readonly pid: number,
  ) {
    super(message);
  }
}

export interface ReplacementOptions {
  readonly config: ServiceConfig;
  readonly held: readonly HeldListener[];
  readonly deps: InstanceDeps;
  /** Called once the new instance is spawned (the unit tracks it as pending). */
  readonly onSpawned: (fresh: Instance) => void;
  /** Whether the unit still wants this instance once it is ready (false: stopped meanwhile). */
  readonly stillWanted: (fresh: Instance) => boolean;
}

/**
 * Spawns the new instance and waits until it is ready. Throws a plain Error if it cannot be
 * spawned, a NotReadyError (after stopping it) if it does not become ready.
 */
export async function startReplacement(opts: ReplacementOptions): Promise<Instance> {
  const fresh = await Instance.spawn(opts.config, opts.held, opts.deps);
  opts.onSpawned(fresh);
  try {
    await fresh.ready(opts.config.readyTimeoutMs);
    if (!opts.stillWanted(fresh)) throw new Error('the service was stopped meanwhile');
  } catch (err) {
    const why = fresh.failure ?? (err as Error).message;
    if (!fresh.child.exit) await fresh.stop(Math.min(opts.config.stopTimeoutMs, 1000));
    throw new NotReadyError(why, fresh.pid);
  }
  return fresh;
}

/** Asks the old instance to stop and drain until its deadline; resolves false if it had to be killed. */
export async function drainOld(name: string, old: Instance, stopTimeoutMs: number, log: Logger): Promise<boolean> {
  log.info({ service: name, child: old.pid }, 'draining the old instance');
  const { exit, killed } = await old.stop(stopTimeoutMs);
  log[killed ? 'warn' : 'info']({ service: name, child: old.pid, code: exit.code, signal: exit.signal, killed }, 'old instance stopped');
  return !killed;
}

/** At a stop: the pending new instance (if any) is stopped, draining ones get until their deadline. */
export async function stopOverlapping(pending: Instance | undefined, draining: Iterable<Instance>, stopTimeoutMs: number): Promise<boolean> {
  const waits: Promise<boolean>[] = [...draining].map((i) => i.exited.then(() => true));
  if (pending && !pending.child.exit) waits.push(pending.stop(stopTimeoutMs).then((r) => !r.killed));
  return (await Promise.all(waits)).every(Boolean);
}
