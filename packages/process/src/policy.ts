/** What to do when an instance exits on its own (not asked to stop). */
import type { ExitInfo } from './core.js';

export type RestartPolicy = 'always' | 'on-failure' | 'never';

/** Exit code for a configuration error (sysexits EX_CONFIG): permanent, never restarted. */
export const EX_CONFIG = 78;

export type ExitDecision =
  | { readonly action: 'restart' }
  | { readonly action: 'stopped' }
  | { readonly action: 'failed'; readonly reason: string };

export function describeExit(exit: ExitInfo): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code ?? '?'}`;
}

export function isCleanExit(exit: ExitInfo): boolean {
  return exit.code === 0;
}

/**
 * The decision for an unexpected exit. `permanent` is set when the service itself reported a
 * permanent failure before exiting. Crash-loop detection is applied by the caller on `restart`.
 */
export function decideOnExit(policy: RestartPolicy, exit: ExitInfo, permanent = false): ExitDecision {
  if (exit.code === EX_CONFIG || permanent) return { action: 'failed', reason: 'configuration error (exit 78): not restarted' };
  const clean = isCleanExit(exit);
  switch (policy) {
    case 'always':
      return { action: 'restart' };
    case 'on-failure':
      return clean ? { action: 'stopped' } : { action: 'restart' };
    case 'never':
      return clean ? { action: 'stopped' } : { action: 'failed', reason: `${describeExit(exit)}; restart: never` };
  }
}
