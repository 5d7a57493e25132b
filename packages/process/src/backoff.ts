/**
 * Restart delays: the first restart is immediate, then the delay doubles from `initialMs` up to
 * `maxMs`. A run that lasted `stableMs` or longer resets the sequence.
 */

export interface BackoffOptions {
  /** Delay of the second restart in a row (the first is immediate). */
  readonly initialMs: number;
  readonly maxMs: number;
  /** An instance that ran this long before exiting counts as healthy: the next restart is immediate. */
  readonly stableMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 100, maxMs: 30_000, stableMs: 10_000 };

export class Backoff {
  #attempt = 0;
  constructor(readonly options: BackoffOptions = DEFAULT_BACKOFF) {}

  /** Restarts so far in the current sequence. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next restart, given how long the instance that just exited ran. */
  next(uptimeMs: number): number {
    if (uptimeMs >= this.options.stableMs) this.#attempt = 0;
    const attempt = this.#attempt++;
    if (attempt === 0) return 0;
    const delay = this.options.initialMs * 2 ** (attempt - 1);
    return Math.min(delay, this.options.maxMs);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
