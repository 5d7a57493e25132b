/**
 * The last wrong password of each (source, user) pair, for the login policy's rule that a wrong
 * password repeating the pair's last one is counted once (see the README, "The login policy").
 */
import { createHmac, randomBytes } from 'node:crypto';

/** How long a last wrong password counts as last, and how many repeats in a row go uncounted. */
export interface RepeatLimits {
  readonly windowMs: number;
  readonly maxUncounted: number;
}

export class LastWrongPasswords {
  /**
   * Each pair's last wrong password as the first 8 bytes of an HMAC-SHA256 under `#digestKey`,
   * made for this process and never stored: the password cannot be read back from it, nor tried
   * against it elsewhere; a new guess is taken for a repeat once in 2^64. At most `#maxPairs`
   * pairs, the least recently failed dropped first.
   */
  readonly #last = new Map<string, { readonly digest: bigint; readonly at: number; readonly uncounted: number }>();
  readonly #digestKey = randomBytes(32);
  readonly #maxPairs: number;

  constructor(maxPairs: number) {
    this.#maxPairs = maxPairs;
  }

  /**
   * Whether `password`, wrong for `pair` at `now`, is the pair's last wrong password within
   * `windowMs` and is let go uncounted: at most `maxUncounted` times in a row (every repeat is
   * still checked, so one address repeating one password without end would cost a check each
   * time). Either way it becomes the pair's last, seen now (a client retrying every few minutes
   * stays a repeat).
   */
  repeats(pair: string, password: string, now: number, limits: RepeatLimits): boolean {
    const digest = createHmac('sha256', this.#digestKey).update(password.normalize('NFC')).digest().readBigUInt64BE(0);
    const last = this.#last.get(pair);
    const same = last !== undefined && last.at > now - limits.windowMs && last.digest === digest;
    const uncounted = same ? last.uncounted + 1 : 0;
    const repeat = same && uncounted <= limits.maxUncounted;
    this.#last.delete(pair);
    this.#last.set(pair, { digest, at: now, uncounted: repeat ? uncounted : 0 });
    while (this.#last.size > this.#maxPairs) {
      const oldest = this.#last.keys().next();
      if (oldest.done === true) break;
      this.#last.delete(oldest.value);
    }
    return repeat;
  }

  /** Forgets the pair's last wrong password (at its success). */
  forget(pair: string): void {
    this.#last.delete(pair);
  }
}
