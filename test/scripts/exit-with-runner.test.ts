/**
 * scripts/exit-with-runner.mjs, the suite's vitest setup file, in a process of its own: once the
 * IPC channel to the process that started it closes (vitest gone), it ends, also while it has a
 * timer to wait for. (By hand: vitest sent SIGTERM while the container test's worker waited in
 * its hook left that worker running for the hook's whole timeout without this file.)
 */
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';

const setupFile = new URL('../../scripts/exit-with-runner.mjs', import.meta.url).href;

/** A process with an IPC channel to this one that loads `modules` and then waits ten minutes. */
function waitingWorker(modules: readonly string[]) {
  const script = `
    for (const m of process.argv.slice(1)) await import(m);
    setTimeout(() => undefined, 600_000);
    process.send('waiting');`;
  return spawn(process.execPath, ['--input-type=module', '-e', script, ...modules], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

async function closeChannelOf(worker: ReturnType<typeof waitingWorker>): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  await new Promise((resolve) => worker.once('message', resolve));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => worker.once('exit', (code, signal) => resolve({ code, signal })));
  worker.disconnect();
  return exited;
}

it('ends a waiting worker when its channel to vitest closes', async () => {
  // Loaded twice, as vitest loads it before each test file a worker runs.
  const worker = waitingWorker([setupFile, setupFile]);
  try {
    expect(await closeChannelOf(worker)).toEqual({ code: null, signal: 'SIGKILL' });
  } finally {
    worker.kill('SIGKILL');
  }
});
