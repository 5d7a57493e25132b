/**
 * The login failure policy every protocol applies: failed logins are counted per source address
 * and per user name within a window; past either limit, a login is refused before its credentials
 * are checked. Counts live in the memory of the process that applies them and are bounded: old
 * failures are pruned and at most `MAX_TRACKED` keys are kept.
 */

const MAX_TRACKED = 100_000;

/** Failures per key within a sliding window. */
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

export interface ThrottleLimits {
  /** Failed logins allowed per source address within the window. */
  readonly maxFailuresPerSource: number;
  /** Failed logins allowed per user name within the window. */
  readonly maxFailuresPerUser: number;
}

/**
 * Both counts of one service, with the question a login asks before checking credentials and
 * the record it makes after a failed check. User names are counted case-insensitively.
 */
export class LoginThrottle {
  constructor(
    readonly bySource: FailureLimiter,
    readonly byUser: FailureLimiter,
  ) {}

  /** A throttle whose two windows are `windowMs` long. */
  static create(windowMs: number, now: () => number = Date.now): LoginThrottle {
    return new LoginThrottle(new FailureLimiter(windowMs, now), new FailureLimiter(windowMs, now));
  }

  /** True when `source` or `user` is past its limit: refuse without checking the credentials. */
  refuses(source: string, user: string, limits: ThrottleLimits): boolean {
    return this.bySource.count(source) >= limits.maxFailuresPerSource || this.byUser.count(user.toLowerCase()) >= limits.maxFailuresPerUser;
  }

  /** Counts one failed check of `user`'s credentials from `source`. */
  failed(source: string, user: string): void {
    this.bySource.record(source);
    this.byUser.record(user.toLowerCase());
  }
}
