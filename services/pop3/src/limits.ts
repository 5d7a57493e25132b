/**
 * Counters shared by every session of one server: connections per address and authenticated
 * sessions per user. Failed logins are counted by @hearth/accounts' FailureLimiter (re-exported).
 */

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

export { FailureLimiter } from '@hearth/accounts';
