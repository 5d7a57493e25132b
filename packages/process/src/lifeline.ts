/**
 * The lifeline: a tiny `/bin/sh` watchdog in its own session that knows every child's process
 * group. The supervisor tells it `add PGID` / `del PGID` on its stdin (`addpid PID` / `delpid PID`
 * for a child without a group of its own, in the legacy shared-group mode). When its stdin reaches end
 * of file, the supervisor is gone (even by SIGKILL: the kernel closes the pipe), so it sends
 * SIGTERM to every group it knows, waits up to `graceSeconds` (ending at once when none is left),
 * and sends SIGKILL to what is left.
 *
 * A shell rather than a Node process: about 1 MB, starts in a millisecond, and has no IPC channel
 * of its own to lose. Group ids are plain integers checked on both sides, never interpreted.
 */
import type { ChildProcess } from 'node:child_process';
import { defaultSpawn } from './spawn.js';
import type { SpawnFn } from './spawn.js';

const SCRIPT = `
targets=" "
while IFS= read -r line; do
  case "$line" in
    "add "*) g=\${line#add }; case "$g" in *[!0-9]*|"") ;; *) targets="$targets-$g ";; esac ;;
    "del "*) g=\${line#del }; kept=" "; for x in $targets; do [ "$x" = "-$g" ] || kept="$kept$x "; done; targets=$kept ;;
    "addpid "*) p=\${line#addpid }; case "$p" in *[!0-9]*|"") ;; *) targets="$targets$p ";; esac ;;
    "delpid "*) p=\${line#delpid }; kept=" "; for x in $targets; do [ "$x" = "$p" ] || kept="$kept$x "; done; targets=$kept ;;
  esac
done
[ "$targets" = " " ] && exit 0
for t in $targets; do kill -TERM $t 2>/dev/null; done
i=0
while [ "$i" -lt "$1" ]; do
  left=
  for t in $targets; do kill -s 0 -- $t 2>/dev/null && left=1; done
  [ -z "$left" ] && exit 0
  sleep 0.1
  i=$((i + 1))
done
for t in $targets; do kill -KILL $t 2>/dev/null; done
exit 0
`;

export interface LifelineOptions {
  readonly spawn?: SpawnFn;
  /** Seconds between SIGTERM and SIGKILL once the supervisor is gone (default 2). */
  readonly graceSeconds?: number;
}

export class Lifeline {
  readonly #proc: ChildProcess;
  #closed = false;

  private constructor(proc: ChildProcess) {
    this.#proc = proc;
    proc.stdin?.on('error', () => {});
    proc.on('error', () => {});
  }

  /** Starts the watchdog; resolves once it runs. */
  static start(options: LifelineOptions = {}): Promise<Lifeline> {
    const spawn = options.spawn ?? defaultSpawn;
    // In tenths of a second: the watchdog looks every tenth whether anything is left to wait for.
    const grace = String(Math.ceil((options.graceSeconds ?? 2) * 10));
    const proc = spawn('/bin/sh', ['-c', SCRIPT, 'hearth-lifeline', grace], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    return new Promise((resolve, reject) => {
      proc.once('error', reject);
      proc.once('spawn', () => {
        proc.off('error', reject);
        // The supervisor must not wait for the watchdog at exit (its pipe, written to only, holds
        // nothing up either): a process left with nothing else to do exits, and the watchdog then
        // stops what it knows.
        proc.unref();
        resolve(new Lifeline(proc));
      });
    });
  }

  get pid(): number | undefined {
    return this.#proc.pid;
  }

  /**
   * The group `pgid` is stopped with the others if this process ends. Resolves once the watchdog
   * has it (the line handed to its pipe), for a caller that lets the group's work begin only then.
   */
  add(pgid: number): Promise<void> {
    return this.#write(`add ${pgid}\n`, pgid);
  }

  /** The group `pgid` is not stopped any more; resolves as `add` does. */
  del(pgid: number): Promise<void> {
    return this.#write(`del ${pgid}\n`, pgid);
  }

  /** A single process (no group of its own): killed by pid alone. */
  addPid(pid: number): void {
    void this.#write(`addpid ${pid}\n`, pid);
  }

  delPid(pid: number): void {
    void this.#write(`delpid ${pid}\n`, pid);
  }

  /** Ends the watchdog without killing anything: call only after every child is gone. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#proc.stdin?.end();
  }

  /** Resolves once `line` is in the pipe, or at once when it is not written (closed, a bad id). */
  #write(line: string, pgid: number): Promise<void> {
    const stdin = this.#proc.stdin;
    if (this.#closed || stdin === null || !Number.isSafeInteger(pgid) || pgid <= 1) return Promise.resolve();
    return new Promise((resolve) => stdin.write(line, () => resolve()));
  }
}
