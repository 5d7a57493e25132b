/**
 * The whole suite under `hearth up`, one per test: the test starts it, and it is stopped after
 * the test whatever happened (registered as an afterEach, so a test's own afterEach hooks, which
 * vitest runs first, can still close what they opened against it).
 */
import { afterEach, vi } from 'vitest';
import { startSuite } from '@hearth/testkit/suite';

export type Suite = Awaited<ReturnType<typeof startSuite>>;

/** Call at the top of a test file; returns the function that starts this test's suite. */
export function suitePerTest(): (...args: Parameters<typeof startSuite>) => Promise<Suite> {
  // The whole suite under `hearth up`: generous on a loaded two-core machine.
  vi.setConfig({ testTimeout: 90_000 });
  let current: Suite | undefined;
  afterEach(async () => {
    await current?.stop();
    current = undefined;
  });
  return async (...args) => (current = await startSuite(...args));
}
