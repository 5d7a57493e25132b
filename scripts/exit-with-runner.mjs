/**
 * Vitest setup file: a test worker whose run is gone ends at once instead of finishing its test
 * for nobody. Vitest ended by a signal skips its teardown and leaves a worker that is waiting (in
 * a long hook: the container test's, for the image build) running until the wait is over; one
 * that sends vitest anything in the meantime fails to and exits, one that waits quietly does not.
 * Vitest's forks pool talks to a worker over its IPC channel, which closes when vitest ends. The
 * worker then kills itself (SIGKILL: vitest replaces `process.exit` while tests run), so that the
 * lifelines of what it started (`spawnGuarded`) stop those too.
 */
const registered = Symbol.for('hearth.exitWithRunner');
if (process.connected && !(registered in globalThis)) {
  Object.defineProperty(globalThis, registered, { value: true });
  process.once('disconnect', () => process.kill(process.pid, 'SIGKILL'));
}
