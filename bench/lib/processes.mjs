/**
 * Process helpers the benchmarks share: is a pid alive, wait for it to exit, and its memory from
 * /proc (Linux).
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether `pid` exited within `ms` (checked every 20 ms). */
export async function waitExit(pid, ms) {
  const end = Date.now() + ms;
  while (alive(pid) && Date.now() < end) await sleep(20);
  return !alive(pid);
}

/**
 * Memory of one process in KiB: `rss` = `anon` (its own) + `file` (mapped files, mostly its
 * interpreter's binary, shared with every process that maps it), and `pss` (shared pages divided
 * among their users). Undefined if the process is gone.
 */
export function memoryOf(pid) {
  const kib = (text, name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const pss = kib(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
    return { rss: kib(status, 'VmRSS'), pss, anon: kib(status, 'RssAnon'), file: kib(status, 'RssFile') };
  } catch {
    return undefined;
  }
}
