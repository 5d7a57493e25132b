/** Token buckets for the comsat intake: one over all senders, one per source address (bounded). */

export interface BucketSpec {
  readonly perSecond: number;
  readonly burst: number;
}

export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(
    private readonly spec: BucketSpec,
    now: number,
  ) {
    this.#tokens = spec.burst;
    this.#last = now;
  }

  /** Takes one token if there is one. `now` in ms. */
  take(now: number): boolean {
    const elapsed = Math.max(0, now - this.#last);
    this.#last = now;
    this.#tokens = Math.min(this.spec.burst, this.#tokens + (elapsed * this.spec.perSecond) / 1000);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** Why a datagram was refused, or undefined when accepted. */
export type Refusal = 'global' | 'source' | undefined;

/**
 * A per-source bucket and the global one. At most `maxSources` sources are remembered, the least
 * recently seen forgotten first (a flood from spoofed addresses still meets the global bucket).
 */
export class ComsatLimiter {
  readonly #global: TokenBucket;
  readonly #sources = new Map<string, TokenBucket>();

  constructor(
    private readonly spec: { readonly rate: BucketSpec; readonly perSource: BucketSpec; readonly maxSources: number },
    now: number,
  ) {
    this.#global = new TokenBucket(spec.rate, now);
  }

  get sources(): number {
    return this.#sources.size;
  }

  admit(source: string, now: number): Refusal {
    let bucket = this.#sources.get(source);
    if (bucket) {
      this.#sources.delete(source); // re-inserted below: most recently seen last
    } else {
      bucket = new TokenBucket(this.spec.perSource, now);
      if (this.#sources.size >= this.spec.maxSources) {
        const oldest = this.#sources.keys().next().value;
        if (oldest !== undefined) this.#sources.delete(oldest);
      }
    }
    this.#sources.set(source, bucket);
    if (!bucket.take(now)) return 'source';
    if (!this.#global.take(now)) return 'global';
    return undefined;
  }
}
