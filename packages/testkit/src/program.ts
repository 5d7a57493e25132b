/**
 * Running a program to its end for a test: stdin from a string, stdout and stderr collected, a
 * deadline. A program that exits before reading its stdin is no failure of the run (the write's
 * EPIPE is ignored; its exit code tells what happened), nor is one that cannot be started (its
 * code is null and stderr says why). The program runs in a process group of its own, which the
 * deadline kills whole: a process it started that still holds its output open ends with it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawnGuarded } from './guarded.js';

export interface ProgramOptions {
  /** The program's whole environment (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Written to stdin, which is then closed (stdin is empty otherwise). */
  readonly input?: string | Uint8Array;
  /** Killed (SIGKILL), with every process in its group, after this many ms; default 120 000. */
  readonly timeoutMs?: number;
  /** Killed the same way when this is aborted (a run that ends before the program does). */
  readonly signal?: AbortSignal | undefined;
  /**
   * Stopped with its group when this process ends before the program does, however it ends
   * (`spawnGuarded`): for a program that runs for minutes beside a test run that may be killed.
   * A program that cannot be started then gives the shell's exit code (127) instead of null.
   */
  readonly stopWithThisProcess?: boolean;
}

export interface ProgramResult {
  /** Null when it was killed or could not be started. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `cmd` to its end; never throws for a non-zero exit (see `runProgramOk`). */
export function runProgram(cmd: string, args: readonly string[], options: ProgramOptions = {}): Promise<ProgramResult> {
  return new Promise((resolve) => {
    // detached: a session and process group of its own, which the deadline can end whole.
    const spawnOptions = { env: options.env ?? process.env, cwd: options.cwd, stdio: 'pipe', detached: true } as const;
    const guarded = options.stopWithThisProcess === true ? spawnGuarded(cmd, args, spawnOptions) : undefined;
    // Its stdio is all pipes, as asked.
    const child = (guarded?.child as ChildProcessWithoutNullStreams | undefined) ?? spawn(cmd, args, spawnOptions);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timeoutMs = options.timeoutMs ?? 120_000;
    const killGroup = (why: string) => {
      stderr += `\n(killed ${why})`;
      try {
        process.kill(-child.pid!, 'SIGKILL'); // our own child's group
      } catch {
        // gone already
      }
    };
    const timer = setTimeout(() => killGroup(`after ${timeoutMs} ms`), timeoutMs);
    const onAbort = () => killGroup('as its run was aborted');
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      void guarded?.release();
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    child.on('error', (err) => {
      done();
      resolve({ code: null, stdout, stderr: `${stderr}${err.message}` });
    });
    child.on('close', (code) => {
      done();
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `cmd`; its stdout, or an error naming it, its exit code and the end of its output unless it exits 0. */
export async function runProgramOk(cmd: string, args: readonly string[], options: ProgramOptions = {}): Promise<string> {
  const r = await runProgram(cmd, args, options);
  if (r.code !== 0) {
    const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(`${cmd} ${args.join(' ')}: exit code ${r.code}\n${tail}`);
  }
  return r.stdout;
}
