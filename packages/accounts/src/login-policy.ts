/**
 * The failed-login policy every protocol applies (see the README, "The login policy"). Failures
 * are counted per source address, per user name and per (source, user) pair. An attempt reserves
 * its failure in one synchronous step before the credentials are checked, so parallel attempts
 * cannot all pass a check made before any of them is counted; a successful check gives the
 * reservation back and resets the source's counts. A wrong password that repeats the pair's last
 * wrong one is answered as any failure but gives its reservation back: a client retrying an old
 * password makes no new guess, so it is counted once.
 *
 * Counts are read through from the accounts database (shared by every process of the suite) plus
 * this process's changes not yet written; the changes are written behind, in one short
 * transaction every `flushMs`. A database that cannot be written (full, read-only, busy) keeps the
 * changes in memory, bounded, and retries later: logins never wait for the disk.
 */
import type { FailureDelta, FailureRow } from './failure-table.js';
import { sourceKey, userKey } from './login-keys.js';
import { LastWrongPasswords } from './wrong-passwords.js';

export interface LoginLimits {
  /** Failures from one address (any user) within the window; past it, that address is refused. */
  readonly maxFailuresPerSource: number;
  /**
   * Failures for one user name (any address) within the window; past it, attempts for that user
   * are slowed, and an address with that many failures for that user is refused for it.
   */
  readonly maxFailuresPerUser: number;
  /** A count is forgotten this long after its last failure. */
  readonly windowMs: number;
  /** A failure or refusal is answered after this; a slowed attempt waits it before its check. */
  readonly delayMs: number;
}

/**
 * The login settings every service that checks passwords declares, under the same names in its
 * config (`loginFailureDelay`, `maxLoginFailuresPerIp`, `maxLoginFailuresPerUser`, `failureWindow`).
 */
export interface LoginSettings {
  readonly loginFailureDelay: number;
  readonly maxLoginFailuresPerIp: number;
  readonly maxLoginFailuresPerUser: number;
  readonly failureWindow: number;
}

/** The policy's limits from a service's login settings. */
export function loginLimits(settings: LoginSettings): LoginLimits {
  return {
    maxFailuresPerSource: settings.maxLoginFailuresPerIp,
    maxFailuresPerUser: settings.maxLoginFailuresPerUser,
    windowMs: settings.failureWindow,
    delayMs: settings.loginFailureDelay,
  };
}

export interface LoginPolicyOptions extends LoginLimits {
  /** Write-behind interval (default 250 ms). */
  readonly flushMs?: number;
  /** Keys kept, in memory and in the database (default 100,000). */
  readonly maxKeys?: number;
  readonly now?: () => number;
}

/** Where counts persist: the accounts database, or nothing (memory only). */
export interface FailureStore {
  get(key: string): FailureRow | undefined;
  apply(deltas: ReadonlyMap<string, FailureDelta>, expiredBefore: number, maxRows: number | undefined): void;
}

export type LoginResult<T> =
  | { readonly ok: true; readonly value: T }
  /** `failed`: the credentials were checked and wrong. `refused`: past the limits, not checked. */
  | { readonly ok: false; readonly reason: 'failed' | 'refused' };

export interface LoginPolicyStats {
  /** Credentials checked (the check function called). */
  readonly checks: number;
  readonly successes: number;
  /** Right credentials that were no login (`isLogin`: a disabled account): neither counted nor reset. */
  readonly notLogins: number;
  readonly failures: number;
  /** Failures not counted toward the limits: the pair's last wrong password again. */
  readonly repeated: number;
  /** Attempts refused without a check. */
  readonly refused: number;
  /** Attempts slowed before their check (the user past its limit). */
  readonly slowed: number;
  /** Answers delayed (every failure and refusal). */
  readonly delayed: number;
  /** Write-behind flushes that failed (the changes stay in memory and are retried). */
  readonly storageErrors: number;
}

type Wait = (ms: number) => Promise<void>;

export interface AttemptOptions<T = unknown> {
  /** Waits the delays (default: a timer); a session passes one that ends early when it closes. */
  readonly wait?: Wait;
  /**
   * The credentials a connection already had accepted, checked again (the file service's memo
   * ends every second): not slowed, since the slowing is for guesses at a user's password and
   * this client is not guessing; refused, counted and delayed on failure as any other attempt.
   */
  readonly recheck?: boolean;
  /**
   * The password `check` tries, when the mechanism sends one (not APOP's or a challenge's digest):
   * a wrong one equal to the pair's last wrong one within the window is not counted again.
   */
  readonly password?: string | undefined;
  /**
   * Whether a value `check` returned is a login (default: every value is). One that is not (the
   * right password of a disabled account) gives its reservations back, resets nothing and is
   * resolved after `delayMs`, as a failure is: it is no guess to count, nor a login to clear the
   * address's failures, so neither its time nor the counts tell a guesser that the password was
   * right; the caller refuses it.
   */
  readonly isLogin?: (value: T) => boolean;
}

const sleep: Wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

const RETRY_AFTER_ERROR_MS = 5000;
const CAP_EVERY_FLUSHES = 100;
const FLUSH_BATCH = 500;

export class LoginPolicy {
  #limits: LoginLimits;
  readonly #store: FailureStore | undefined;
  readonly #pending = new Map<string, FailureDelta>();
  /** Reservations whose check is still under way, by key. */
  readonly #underway = new Map<string, number>();
  /** Attempts waiting for a check under way to end (room under the limits). */
  readonly #settled = new Set<() => void>();
  /** The last wrong password of each pair (`s u`), at most `maxKeys` pairs. */
  readonly #lastWrong: LastWrongPasswords;
  readonly #now: () => number;
  readonly #flushMs: number;
  readonly #maxKeys: number;
  #timer: NodeJS.Timeout | undefined;
  #flushes = 0;
  #closed = false;
  readonly #stats = { checks: 0, successes: 0, notLogins: 0, failures: 0, repeated: 0, refused: 0, slowed: 0, delayed: 0, storageErrors: 0 };

  /** `store` undefined: counts live in this process's memory only (tests, embedding). */
  constructor(options: LoginPolicyOptions, store?: FailureStore) {
    this.#limits = pickLimits(options);
    this.#store = store;
    this.#now = options.now ?? Date.now;
    this.#flushMs = options.flushMs ?? 250;
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#lastWrong = new LastWrongPasswords(this.#maxKeys);
  }

  get limits(): LoginLimits {
    return this.#limits;
  }

  /** New limits for the next attempts (a reload). */
  setLimits(limits: LoginLimits): void {
    this.#limits = pickLimits(limits);
  }

  stats(): LoginPolicyStats {
    return { ...this.#stats };
  }

  /** The failures counted for `key`'s source, user or pair (for status and tests). */
  counts(source: string, user: string): { source: number; user: number; pair: number } {
    const s = sourceKey(source);
    const u = userKey(user);
    return { source: this.#count(`s:${s}`), user: this.#count(`u:${u}`), pair: this.#count(`p:${s} ${u}`) };
  }

  /**
   * One login attempt: refused outright past the limits (no check), slowed when the user is past
   * its limit (unless `recheck`), then `check` (the canonical user, or undefined when wrong); a
   * failure or refusal resolves only after `delayMs`, waited with `wait`. A failure whose
   * `password` is the pair's last wrong one gives its reservation back (answered the same), as
   * does a value that `isLogin` says is no login (resolved as ok after `delayMs`, nothing reset). A `check` that
   * throws gives its reservation back and rethrows.
   */
  async attempt<T>(source: string, user: string, check: () => Promise<T | undefined>, options: AttemptOptions<T> = {}): Promise<LoginResult<T>> {
    const { wait = sleep, recheck = false, password, isLogin } = options;
    const s = sourceKey(source);
    const u = userKey(user);
    if (this.#refuses(s, u)) return this.#refuse(wait);
    if (!recheck && this.#counted(`u:${u}`) >= this.#limits.maxFailuresPerUser) {
      this.#stats.slowed++;
      await wait(this.#limits.delayMs);
      // The wait held no reservation: admit again, in one step with the reservation below.
      if (this.#refuses(s, u)) return this.#refuse(wait);
    }
    // Past the limits only because of checks still under way (a burst of logins from one
    // address): wait for one of them to end, then decide again on what they turned out to be.
    while (this.#full(s, u)) {
      await new Promise<void>((resolve) => this.#settled.add(resolve));
      if (this.#refuses(s, u)) return this.#refuse(wait);
    }
    const keys = [`s:${s}`, `u:${u}`, `p:${s} ${u}`];
    const at = this.#now();
    for (const key of keys) this.#change(key, 1, at);
    this.#hold(keys, 1);
    this.#stats.checks++;
    let value: T | undefined;
    try {
      value = await check();
    } catch (error) {
      for (const key of keys) this.#change(key, -1, undefined);
      throw error;
    } finally {
      this.#hold(keys, -1);
    }
    if (value === undefined) {
      this.#stats.failures++;
      const limits = { windowMs: this.#limits.windowMs, maxUncounted: this.#limits.maxFailuresPerSource };
      if (password !== undefined && this.#lastWrong.repeats(`${s} ${u}`, password, this.#now(), limits)) {
        this.#stats.repeated++;
        for (const key of keys) this.#change(key, -1, undefined);
      }
      this.#stats.delayed++;
      await wait(this.#limits.delayMs);
      return { ok: false, reason: 'failed' };
    }
    if (isLogin !== undefined && !isLogin(value)) {
      this.#stats.notLogins++;
      for (const key of keys) this.#change(key, -1, undefined);
      this.#stats.delayed++;
      await wait(this.#limits.delayMs);
      return { ok: true, value };
    }
    this.#stats.successes++;
    this.#change(`u:${u}`, -1, undefined);
    this.#reset(`s:${s}`);
    this.#reset(`p:${s} ${u}`);
    this.#lastWrong.forget(`${s} ${u}`);
    return { ok: true, value };
  }

  /**
   * Writes what is pending now, at most `FLUSH_BATCH` keys per transaction so that one write stays
   * short; false when the database refused. The timer writes one batch every `flushMs` (the
   * next one soon after when more are pending).
   */
  flush(batches = Infinity): boolean {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#store === undefined) return true;
    for (let n = 0; n < batches && this.#pending.size > 0; n++) {
      const batch = new Map<string, FailureDelta>();
      for (const [key, delta] of this.#pending) {
        if (batch.size >= FLUSH_BATCH) break;
        batch.set(key, delta);
      }
      this.#flushes++;
      try {
        // Synchronous: nothing can change the pending map while it is written.
        this.#store.apply(batch, this.#expiredBefore(), this.#flushes % CAP_EVERY_FLUSHES === 1 ? this.#maxKeys : undefined);
      } catch {
        this.#stats.storageErrors++;
        this.#schedule(RETRY_AFTER_ERROR_MS);
        return false;
      }
      for (const key of batch.keys()) this.#pending.delete(key);
    }
    if (this.#pending.size > 0) this.#schedule(10);
    return true;
  }

  /** Flushes and stops the timer; idempotent. Attempts after close count in memory only. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#closed = true;
  }

  /** Refused on the failures counted, not on the checks still under way. */
  #refuses(s: string, u: string): boolean {
    return (
      this.#counted(`s:${s}`) >= this.#limits.maxFailuresPerSource || this.#counted(`p:${s} ${u}`) >= this.#limits.maxFailuresPerUser
    );
  }

  /** No room for one more reservation: the failures counted plus the checks under way. */
  #full(s: string, u: string): boolean {
    return this.#count(`s:${s}`) >= this.#limits.maxFailuresPerSource || this.#count(`p:${s} ${u}`) >= this.#limits.maxFailuresPerUser;
  }

  #counted(key: string): number {
    return Math.max(0, this.#count(key) - (this.#underway.get(key) ?? 0));
  }

  /** Marks `keys`' checks under way (+1) or ended (-1); an end wakes the attempts waiting for room. */
  #hold(keys: readonly string[], by: 1 | -1): void {
    for (const key of keys) {
      const n = (this.#underway.get(key) ?? 0) + by;
      if (n > 0) this.#underway.set(key, n);
      else this.#underway.delete(key);
    }
    if (by === -1 && this.#settled.size > 0) {
      const waiting = [...this.#settled];
      this.#settled.clear();
      for (const wake of waiting) wake();
    }
  }

  async #refuse<T>(wait: Wait): Promise<LoginResult<T>> {
    this.#stats.refused++;
    this.#stats.delayed++;
    await wait(this.#limits.delayMs);
    return { ok: false, reason: 'refused' };
  }

  #expiredBefore(): number {
    return this.#now() - this.#limits.windowMs;
  }

  #count(key: string): number {
    const expired = this.#expiredBefore();
    const pending = this.#pending.get(key);
    let stored = 0;
    if (this.#store !== undefined && pending?.reset !== true) {
      let row: FailureRow | undefined;
      try {
        row = this.#store.get(key);
      } catch {
        row = undefined; // an unreadable database counts only what this process saw
      }
      if (row !== undefined && row.last_at > expired) stored = row.count;
    }
    let added = pending?.add ?? 0;
    if (added > 0 && (pending?.last ?? 0) <= expired) added = 0;
    return Math.max(0, stored + added);
  }

  #entry(key: string): FailureDelta {
    const next = this.#pending.get(key) ?? { reset: false, add: 0, last: undefined };
    // Re-inserted last: the map's order is least recently changed first, the first dropped.
    this.#pending.delete(key);
    this.#pending.set(key, next);
    while (this.#pending.size > this.#maxKeys) {
      const oldest = this.#pending.keys().next();
      if (oldest.done === true) break;
      this.#pending.delete(oldest.value);
    }
    this.#schedule(this.#flushMs);
    return next;
  }

  #change(key: string, by: number, at: number | undefined): void {
    const entry = this.#entry(key);
    if (this.#store === undefined && at !== undefined && (entry.last ?? 0) <= this.#expiredBefore()) entry.add = 0;
    entry.add += by;
    if (at !== undefined) entry.last = Math.max(entry.last ?? 0, at);
  }

  /** Forgets `key`'s failures; the reservations of checks still under way stay counted. */
  #reset(key: string): void {
    const entry = this.#entry(key);
    const underway = this.#underway.get(key) ?? 0;
    entry.reset = true;
    entry.add = underway;
    entry.last = underway > 0 ? this.#now() : undefined;
  }

  #schedule(ms: number): void {
    if (this.#store === undefined || this.#closed || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush(1);
    }, ms);
    this.#timer.unref();
  }
}

function pickLimits(limits: LoginLimits): LoginLimits {
  const { maxFailuresPerSource, maxFailuresPerUser, windowMs, delayMs } = limits;
  return Object.freeze({ maxFailuresPerSource, maxFailuresPerUser, windowMs, delayMs });
}
