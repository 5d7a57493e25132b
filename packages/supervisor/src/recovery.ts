/**
 * What happens after a service's running instance exits unexpectedly: the restart policy
 * (`always`, `on-failure`, `never`; exit 78 or a permanent failure is never restarted), then
 * crash-loop detection, then the backoff delay before the next launch (none for the first,
 * doubling after, reset once a run lasted long enough). One `Recovery` per unit and config.
 */
import { Backoff, CrashLoopDetector, decideOnExit, describeExit } from '@hearth/process';
import type { ExitInfo } from '@hearth/process';
import type { ServiceConfig } from './config.js';

export type ExitJudgement =
  /** Done: the policy does not restart it (a clean exit under `on-failure`, or `never`). */
  | { readonly action: 'stopped' }
  /** Given up: a permanent failure or a crash loop. */
  | { readonly action: 'failed'; readonly reason: string }
  /** Start it again after the backoff delay (`schedule`). */
  | { readonly action: 'restart' };

export class Recovery {
  readonly #config: ServiceConfig;
  readonly #backoff: Backoff;
  readonly #crashLoop: CrashLoopDetector;
  #timer: NodeJS.Timeout | undefined;

  constructor(config: ServiceConfig) {
    this.#config = config;
    this.#backoff = new Backoff(config.backoff);
    this.#crashLoop = new CrashLoopDetector(config.crashLoop);
  }

  /**
   * Judges an unexpected exit (recording it as a failure for crash-loop detection).
   * `permanentFailure`: what the instance reported as permanent (`failed` with `permanent: true`).
   */
  judge(exit: ExitInfo, permanentFailure: string | undefined): ExitJudgement {
    const decision = decideOnExit(this.#config.restart, exit, permanentFailure !== undefined);
    if (decision.action === 'stopped') return { action: 'stopped' };
    if (decision.action === 'failed') return { action: 'failed', reason: permanentFailure ?? decision.reason };
    if (this.#crashLoop.record(exit.at)) {
      const { failures, windowMs } = this.#config.crashLoop;
      const window = windowMs % 1000 === 0 ? `${windowMs / 1000}s` : `${windowMs} ms`;
      return { action: 'failed', reason: `crash loop: ${failures} failures within ${window} (last: ${describeExit(exit)}): not restarted` };
    }
    return { action: 'restart' };
  }

  /**
   * Calls `relaunch` after the backoff delay for a run that lasted `uptimeMs`; returns the
   * delay. No delay: right after the current handler (a standby is promoted within the same
   * turn of the event loop).
   */
  schedule(uptimeMs: number, relaunch: () => void): number {
    const delay = this.#backoff.next(uptimeMs);
    if (delay === 0) {
      queueMicrotask(relaunch);
      return 0;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      relaunch();
    }, delay);
    return delay;
  }

  /** Cancels a scheduled relaunch. */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Forgets past failures (a manual start of a failed service). */
  reset(): void {
    this.#crashLoop.reset();
    this.#backoff.reset();
  }
}
