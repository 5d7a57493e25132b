/**
 * The process core: starts children in their own session and process group, signals only a
 * child's own group, sees every exit at once, and knows exactly which children it started.
 *
 * Reaping: Node (libuv) waits for each child pid it spawned and for nothing else, so the core
 * reaps its own children and never steals another part of the program's exit statuses.
 */
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { defaultKill, defaultSpawn } from './spawn.js';
import type { KillFn, SpawnFn } from './spawn.js';
import { wrapWithLimits } from './limits.js';
import { isDirectory } from './which.js';
import type { Limits } from './limits.js';

export interface ExitInfo {
  /** Exit code, or null when the child died of a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** `Date.now()` at the exit. */
  readonly at: number;
  /**
   * Processes it had started were still in its group when it exited, and were SIGKILLed
   * (`killGroupOnExit`): a program that forked into the background and left.
   */
  readonly leftovers?: boolean;
}

export interface StartOptions {
  /** Program and arguments; `argv[0]` is looked up in PATH. */
  readonly argv: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly uid?: number;
  readonly gid?: number;
  readonly stdio?: StdioOptions;
  readonly limits?: Limits;
  /** Serialization for an `ipc` stdio entry: `json` (default) or `advanced`. */
  readonly serialization?: 'json' | 'advanced';
  /**
   * When the child exits, SIGKILL what is left of its process group (background processes it
   * started). Default true: a service's group does not outlive it.
   */
  readonly killGroupOnExit?: boolean;
  /**
   * Start the child in its own session and process group (default true). False is the legacy
   * shared-group mode: the child stays in the caller's process group, so it is signalled by pid
   * alone and nothing is killed group-wide at its exit.
   */
  readonly ownGroup?: boolean;
}

/**
 * A child the core started. `pid` is also its process group id (it leads its own session), unless
 * it was started with `ownGroup: false`.
 */
export interface ManagedChild {
  readonly pid: number;
  readonly argv: readonly string[];
  readonly startedAt: number;
  readonly process: ChildProcess;
  /** Resolves once, when the child has exited and been reaped. */
  readonly exited: Promise<ExitInfo>;
  /** Set once the child has exited. */
  readonly exit: ExitInfo | undefined;
  /** Whether the child leads its own process group (false in the legacy shared-group mode). */
  readonly ownGroup: boolean;
  /**
   * Sends `signal` to the child's own process group (to the child alone when it has none). False
   * if it is already gone.
   */
  signal(signal: NodeJS.Signals): boolean;
}

/** Spawn failed before a child existed (ENOENT, EACCES, ...). */
export class SpawnError extends Error {
  override readonly name = 'SpawnError';
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

export interface ProcessCoreOptions {
  readonly spawn?: SpawnFn;
  readonly kill?: KillFn;
}

export class ProcessCore {
  readonly #spawn: SpawnFn;
  readonly #kill: KillFn;
  readonly #children = new Map<number, ManagedChild>();

  constructor(options: ProcessCoreOptions = {}) {
    this.#spawn = options.spawn ?? defaultSpawn;
    this.#kill = options.kill ?? defaultKill;
  }

  /** The children started by this core that have not exited yet. */
  children(): readonly ManagedChild[] {
    return [...this.#children.values()];
  }

  /** Whether `pid` is a live child of this core. */
  owns(pid: number): boolean {
    return this.#children.has(pid);
  }

  /**
   * Starts a child in its own session (detached: setsid). Resolves once the child is running,
   * rejects with a `SpawnError` if it could not be started (nothing is left behind then).
   */
  start(options: StartOptions): Promise<ManagedChild> {
    const argv = options.limits ? wrapWithLimits(options.argv, options.limits) : options.argv;
    const [command, ...args] = argv;
    if (command === undefined) return Promise.reject(new SpawnError('empty command', undefined));
    const ownGroup = options.ownGroup ?? true;
    let child: ChildProcess;
    try {
      child = this.#spawn(command, args, {
        detached: ownGroup,
        stdio: options.stdio ?? 'ignore',
        ...(options.env ? { env: { ...options.env } } : {}),
        ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
        ...(options.uid !== undefined ? { uid: options.uid } : {}),
        ...(options.gid !== undefined ? { gid: options.gid } : {}),
        ...(options.serialization ? { serialization: options.serialization } : {}),
      });
    } catch (err) {
      return Promise.reject(spawnError(options.argv, err, options.cwd));
    }
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        child.off('spawn', onSpawn);
        reject(spawnError(options.argv, err, options.cwd));
      };
      const onSpawn = (): void => {
        child.off('error', onError);
        resolve(this.#track(child, options.argv, ownGroup && (options.killGroupOnExit ?? true), ownGroup));
      };
      child.once('error', onError);
      child.once('spawn', onSpawn);
    });
  }

  /** Sends `signal` to the group of every live child (used as a last resort at shutdown). */
  signalAll(signal: NodeJS.Signals): void {
    for (const child of this.#children.values()) child.signal(signal);
  }

  #track(proc: ChildProcess, argv: readonly string[], killGroupOnExit: boolean, ownGroup: boolean): ManagedChild {
    const pid = proc.pid;
    if (pid === undefined) throw new SpawnError(`${argv[0] ?? ''}: no pid after spawn`, undefined);
    let exit: ExitInfo | undefined;
    let resolveExit: (info: ExitInfo) => void = () => {};
    const exited = new Promise<ExitInfo>((resolve) => (resolveExit = resolve));
    const kill = this.#kill;
    const managed: ManagedChild = {
      pid,
      argv,
      startedAt: Date.now(),
      process: proc,
      ownGroup,
      exited,
      get exit() {
        return exit;
      },
      signal(signal) {
        if (exit) return false;
        try {
          return kill(ownGroup ? -pid : pid, signal);
        } catch {
          return false; // ESRCH: the group is gone already
        }
      },
    };
    // Later errors (a failed send, a failed kill) must not crash the supervisor.
    proc.on('error', () => {});
    proc.once('exit', (code, signal) => {
      const at = Date.now();
      this.#children.delete(pid);
      // The group id cannot be reused while any member lives, so this reaches only leftovers.
      let leftovers = false;
      if (killGroupOnExit) {
        try {
          leftovers = kill(-pid, 'SIGKILL');
        } catch {
          // ESRCH: nothing left, the usual case
        }
      }
      exit = { code, signal, at, ...(leftovers ? { leftovers } : {}) };
      resolveExit(exit);
    });
    this.#children.set(pid, managed);
    return managed;
  }
}

function spawnError(argv: readonly string[], err: unknown, cwd: string | undefined): SpawnError {
  const e = err as NodeJS.ErrnoException;
  const name = argv[0] ?? '';
  // A missing working directory fails the spawn with the same ENOENT as a missing program.
  if (e.code === 'ENOENT' && cwd !== undefined && !isDirectory(cwd)) return new SpawnError(`working directory ${cwd}: no such directory`, e.code);
  if (e.code === 'ENOENT') return new SpawnError(`${name}: command not found`, e.code);
  if (e.code === 'EACCES') return new SpawnError(`${name}: permission denied`, e.code);
  return new SpawnError(`${name}: ${e.message}`, e.code);
}
