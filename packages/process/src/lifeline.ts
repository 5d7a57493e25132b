/**
 * The lifeline: a tiny `/bin/sh` watchdog in its own session that knows every child's process
 * group. The supervisor tells it `add PGID` / `del PGID` on its stdin. When its stdin reaches end
 * of file, the supervisor is gone (even by SIGKILL: the kernel closes the pipe), so it sends
 * SIGTERM to every group it knows, waits `graceSeconds`, and sends SIGKILL to what is left.
 *
 * A shell rather than a Node process: about 1 MB, starts in a millisecond, and has no IPC channel
 * of its own to lose. Group ids are plain integers checked on both sides, never interpreted.
 */
import type { ChildProcess } from 'node:child_process';
import { defaultSpawn } from './spawn.js';
import type { SpawnFn } from './spawn.js';

const SCRIPT = `
groups=" "
while IFS= read -r line; do
  case "$line" in
    "add "*) g=\${line#add }; case "$g" in *[!0-9]*|"") ;; *) groups="$groups$g ";; esac ;;
    "del "*) g=\${line#del }; kept=" "; for x in $groups; do [ "$x" = "$g" ] || kept="$kept$x "; done; groups=$kept ;;
  esac
done
[ "$groups" = " " ] && exit 0
for g in $groups; do kill -TERM -$g 2>/dev/null; done
sleep "$1"
for g in $groups; do kill -KILL -$g 2>/dev/null; done
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
    const grace = String(options.graceSeconds ?? 2);
    const proc = spawn('/bin/sh', ['-c', SCRIPT, 'hearth-lifeline', grace], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    return new Promise((resolve, reject) => {
      proc.once('error', reject);
      proc.once('spawn', () => {
        proc.off('error', reject);
        // The supervisor must not wait for the watchdog at exit.
        proc.unref();
        resolve(new Lifeline(proc));
      });
    });
  }

  get pid(): number | undefined {
    return this.#proc.pid;
  }

  add(pgid: number): void {
    this.#write(`add ${pgid}\n`, pgid);
  }

  del(pgid: number): void {
    this.#write(`del ${pgid}\n`, pgid);
  }

  /** Ends the watchdog without killing anything: call only after every child is gone. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#proc.stdin?.end();
  }

  #write(line: string, pgid: number): void {
    if (this.#closed || !Number.isSafeInteger(pgid) || pgid <= 1) return;
    this.#proc.stdin?.write(line);
  }
}
