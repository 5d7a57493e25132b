/**
 * Vitest setup file: a test worker whose run is gone (vitest ended by a signal, which skips its
 * teardown and leaves its workers) ends at once instead of finishing its test for nobody: a
 * worker waiting in a long hook (the container test's, for the image build) would otherwise wait
 * out the hook's timeout. Vitest's forks pool talks to a worker over its IPC channel; the channel
 * closes when vitest ends. The worker then kills itself (SIGKILL: vitest replaces `process.exit`
 * while tests run), so that the lifelines of what it started (`spawnGuarded`) stop those too.
 */
const registered = Symbol.for('hearth.exitWithRunner');
const worker = globalThis as { [registered]?: true };
if (process.connected && worker[registered] === undefined) {
  worker[registered] = true;
  process.once('disconnect', () => process.kill(process.pid, 'SIGKILL'));
}
