/**
 * A process is identified by its pid plus its start time, so a lock or a body file left by a
 * process that died (even by kill -9) is recognised as abandoned, and a recycled pid is not
 * mistaken for the original holder.
 */
import { readFileSync } from 'node:fs';

/** The start time of `pid` in clock ticks since boot (Linux `/proc/PID/stat` field 22), or `'?'`. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? '?';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return '?';
  }
}

let self: string | undefined;
export function selfStartTime(): string {
  self ??= processStartTime(process.pid) ?? '?';
  return self;
}

/** Whether the process that recorded (`pid`, `start`) is still running. */
export function isProcessAlive(pid: number, start: string): boolean {
  if (pid === process.pid) return start === selfStartTime();
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const now = processStartTime(pid);
  if (now === undefined) return false;
  return now === '?' || start === '?' || now === start;
}
