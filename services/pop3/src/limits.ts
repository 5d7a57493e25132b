/**
 * Counters shared by every session of one server: connections per address, authenticated
 * sessions per user, and failed logins per address and per user within a window. Bounded: old
 * failure records are pruned, and at most `MAX_TRACKED` keys are kept.
 */

const MAX_TRACKED = 100_000;

export class Counter {
  private readonly counts = new Map<string, number>();
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  add(key: string): void {
    this.counts.set(key, this.get(key) + 1);
  }
  remove(key: string): void {
    const n = this.get(key) - 1;
    if (n <= 0) this.counts.delete(key);
    else this.counts.set(key, n);
  }
}

export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Failures recorded for `key` within the window. */
  count(key: string): number {
    return this.recent(key).length;
  }

  record(key: string): void {
    const list = this.recent(key);
    list.push(this.now());
    this.failures.delete(key);
    this.failures.set(key, list);
    if (this.failures.size > MAX_TRACKED) {
      const oldest = this.failures.keys().next();
      if (oldest.done !== true) this.failures.delete(oldest.value);
    }
  }

  private recent(key: string): number[] {
    const list = this.failures.get(key);
    if (list === undefined) return [];
    const since = this.now() - this.windowMs;
    while (list.length > 0 && list[0]! < since) list.shift();
    if (list.length === 0) this.failures.delete(key);
    // Bound a single key's list: only the count within the window matters.
    if (list.length > 1000) list.splice(0, list.length - 1000);
    return list;
  }
}
