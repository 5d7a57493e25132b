/**
 * A program, with every process of its group, that does not outlive this process: for one that
 * runs for minutes beside a test run that may be killed (the container test's image build, its
 * private `dockerd`). It leads a process group and a session of its own, which this process's
 * `Lifeline` (`@hearth/process`, the supervisor's watchdog, started with the first such program)
 * knows until the program is released: if this process ends first, however it ends (SIGKILL
 * included), the watchdog sends the group SIGTERM and, 30 s later, SIGKILL.
 *
 * The program starts only once the watchdog knows its group: it is started behind a gate (`sh`,
 * which reads `go` on descriptor 3 and then execs the program with that descriptor closed), which
 * this process opens once the group's line is in the watchdog's pipe. Ended in between, it leaves
 * nothing running: the gate reads the end of its pipe and exits 125 without running the program.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { Writable } from 'node:stream';
import { Lifeline } from '@hearth/process';

/** A program started by `spawnGuarded`. */
export interface GuardedProgram {
  /** The gate's process, which becomes the program: its pid is the group's id. */
  readonly child: ChildProcess;
  /**
   * The group outlives this process again (its program is done): the watchdog forgets it.
   * Resolves once it has been told.
   */
  release(): Promise<void>;
}

/** The exit code of a gate that was not opened (no watchdog, or this process ended first). */
const GATE_NOT_OPENED = 125;

const GATE = `read -r word <&3 && [ "$word" = go ] || { echo "$1: not started: no watchdog for it, or the process starting it is gone" >&2; exit ${GATE_NOT_OPENED}; }
exec "$@" 3<&-`;

/** Seconds between the group's SIGTERM and its SIGKILL: a dockerd stops its containers first. */
const GRACE_SECONDS = 30;

let lifeline: Promise<Lifeline> | undefined;

/**
 * Starts `cmd` with `options` (its `stdio` for descriptors 0 to 2, default all `pipe`; always
 * `detached`) so that it and its group are stopped if this process ends before `release`. The
 * child's events are the caller's as with `spawn`; a program that cannot be started shows as the
 * shell says it (exit code 127 or 126, and why on stderr), not as an 'error' event.
 */
export function spawnGuarded(cmd: string, args: readonly string[], options: SpawnOptions = {}): GuardedProgram {
  const { stdio = 'pipe', ...rest } = options;
  const three = typeof stdio === 'string' ? [stdio, stdio, stdio] : stdio.slice(0, 3);
  const child = spawn('sh', ['-c', GATE, 'sh', cmd, ...args], { ...rest, stdio: [...three, 'pipe'], detached: true });
  const gate = child.stdio[3] as Writable;
  gate.on('error', () => undefined);
  const pgid = child.pid;
  if (pgid === undefined) {
    // The shell did not start: the child's 'error' event says why.
    gate.destroy();
    return { child, release: () => Promise.resolve() };
  }
  const watched = (lifeline ??= Lifeline.start({ graceSeconds: GRACE_SECONDS })).then(async (watchdog) => {
    await watchdog.add(pgid);
    return watchdog;
  });
  // No watchdog: the gate reads the end of its pipe, and the program does not start.
  watched.then(
    () => gate.end('go\n'),
    () => gate.destroy(),
  );
  let released: Promise<void> | undefined;
  return {
    child,
    release() {
      return (released ??= watched.then(
        (watchdog) => watchdog.del(pgid),
        () => undefined,
      ));
    },
  };
}

/**
 * `spawnGuarded` for a program that starts nothing meant to outlive it (a test's server, a
 * fixture): the watchdog forgets its group once it exits. The child, as `spawn` gives it.
 */
export function spawnTied(cmd: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const { child, release } = spawnGuarded(cmd, args, options);
  child.once('exit', () => void release());
  return child;
}
