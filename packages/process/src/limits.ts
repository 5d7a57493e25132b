/**
 * Resource limits for a child, applied with util-linux `prlimit`: the child is started as
 * `prlimit --nofile=N:N ... -- PROGRAM ARGS`, and prlimit sets the limits on itself and execs the
 * program, so the pid (and process group, and inherited IPC fd) stay the child's own. Node has no
 * setrlimit of its own, and this keeps the limits visible in `ps`.
 */

export interface Limits {
  /** Open file descriptors (RLIMIT_NOFILE). */
  readonly nofile?: number;
  /** Processes of the child's user (RLIMIT_NPROC). */
  readonly nproc?: number;
  /** Core file size in bytes (RLIMIT_CORE). */
  readonly core?: number;
  /** Size of a written file in bytes (RLIMIT_FSIZE). */
  readonly fsize?: number;
  /** CPU seconds (RLIMIT_CPU). */
  readonly cpu?: number;
  /**
   * Address space in bytes (RLIMIT_AS). Node reserves a lot of virtual memory at start: give a
   * Node program several GB or it will not start.
   */
  readonly memory?: number;
}

const FLAGS: Readonly<Record<keyof Limits, string>> = {
  nofile: '--nofile',
  nproc: '--nproc',
  core: '--core',
  fsize: '--fsize',
  cpu: '--cpu',
  memory: '--as',
};

export const PRLIMIT = 'prlimit';

/** The argv that starts `argv` with `limits` applied (unchanged when there are none). */
export function wrapWithLimits(argv: readonly string[], limits: Limits): readonly string[] {
  const flags: string[] = [];
  for (const key of Object.keys(FLAGS) as (keyof Limits)[]) {
    const value = limits[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`limits.${key}: not a non-negative integer`);
    flags.push(`${FLAGS[key]}=${value}:${value}`);
  }
  if (flags.length === 0) return argv;
  return [PRLIMIT, ...flags, '--', ...argv];
}
