/**
 * Crash-loop detection: `failures` unexpected exits within `windowMs` trip it, and the service is
 * marked failed instead of restarted again. Keeps at most `failures` timestamps.
 */

export interface CrashLoopOptions {
  readonly failures: number;
  readonly windowMs: number;
}

export const DEFAULT_CRASH_LOOP: CrashLoopOptions = { failures: 5, windowMs: 60_000 };

export class CrashLoopDetector {
  readonly #times: number[] = [];
  constructor(readonly options: CrashLoopOptions = DEFAULT_CRASH_LOOP) {}

  /** Records a failure at `now`; true when this failure completes a crash loop. */
  record(now: number = Date.now()): boolean {
    this.#times.push(now);
    while (this.#times.length > this.options.failures) this.#times.shift();
    const first = this.#times[0];
    return this.#times.length >= this.options.failures && first !== undefined && now - first <= this.options.windowMs;
  }

  /** Failures inside the window as of `now`. */
  count(now: number = Date.now()): number {
    return this.#times.filter((t) => now - t <= this.options.windowMs).length;
  }

  reset(): void {
    this.#times.length = 0;
  }
}
