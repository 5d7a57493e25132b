/**
 * The restart schedule both restart benchmarks use: `restart(i)` called `count` times, the i-th
 * at i/(count+1) of `ms` from now, each after the previous one finished. Returns each call's
 * [start, end] (performance.now()).
 */
import { setTimeout as sleep } from 'node:timers/promises';

export async function restartEvenly(ms, count, restart) {
  const t0 = performance.now();
  const every = ms / (count + 1);
  const windows = [];
  for (let i = 1; i <= count; i++) {
    await sleep(Math.max(0, t0 + i * every - performance.now()));
    const a = performance.now();
    await restart(i);
    windows.push([a, performance.now()]);
  }
  return windows;
}
