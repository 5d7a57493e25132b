/**
 * A bound on how many warnings per interval reach the log: a flood of refused or broken
 * connections must not write megabytes of log. Past the budget, warnings are counted; the first
 * one let through in a later interval carries how many were left out (`suppressed`).
 */
import type { Logger } from '@hearth/log';

export class LogBudget {
  #left: number;
  #since: number;
  #suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly perInterval = 20,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    this.#left = perInterval;
    this.#since = now();
  }

  warn(fields: Record<string, unknown>, msg: string): void {
    const now = this.now();
    if (now - this.#since >= this.intervalMs) {
      this.#since = now;
      this.#left = this.perInterval;
    }
    if (this.#left <= 0) {
      this.#suppressed++;
      return;
    }
    this.#left--;
    const extra = this.#suppressed > 0 ? { suppressed: this.#suppressed } : {};
    this.#suppressed = 0;
    this.log.warn({ ...fields, ...extra }, msg);
  }
}
