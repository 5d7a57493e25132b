/**
 * A table of handlers with draining (shares, a listener's handler, mount points).
 *
 * Each entry has a state (active or inactive) and a reference count. A request holds a lease on
 * the entry it uses while it runs. Replacing or removing an entry makes it inactive: new lookups
 * see the replacement (or "gone"), requests already running finish on the old one, and the old
 * entry's cleanup runs when its count reaches zero. `drain` makes every entry inactive and waits
 * for the total count to reach zero, up to a deadline.
 *
 * Leases are released idempotently, so a request that fails, or a client that disconnects midway
 * and releases from both its error path and its close handler, cannot miscount.
 */

export type EntryState = 'active' | 'inactive';

export interface Lease<V> {
  readonly key: string;
  readonly value: V;
  /** Whether the entry this lease holds has been replaced or removed meanwhile. */
  readonly stale: boolean;
  readonly released: boolean;
  /** Give the reference back. Safe to call more than once. */
  release(): void;
}

export type AcquireResult<V> =
  | { readonly ok: true; readonly lease: Lease<V> }
  /** `gone`: no active entry under this key; `closed`: the table is draining. */
  | { readonly ok: false; readonly reason: 'gone' | 'closed'; readonly message: string };

export interface SetOptions<V> {
  /** Runs once, when the entry is inactive and its count has reached zero. */
  readonly cleanup?: (value: V) => void | Promise<void>;
}

export interface DrainResult {
  /** True when every count reached zero before the deadline. */
  readonly drained: boolean;
  /** Entries still referenced at the deadline. */
  readonly left: ReadonlyArray<{ readonly key: string; readonly refs: number }>;
}

export class HandlerGoneError extends Error {
  override readonly name = 'HandlerGoneError';
  constructor(
    readonly key: string,
    readonly reason: 'gone' | 'closed',
    message: string,
  ) {
    super(message);
  }
}

interface Entry<V> {
  readonly key: string;
  readonly value: V;
  state: EntryState;
  refs: number;
  readonly cleanup: ((value: V) => void | Promise<void>) | undefined;
  cleaned: boolean;
}

export interface HandlerTableOptions {
  /** Called when a cleanup throws or rejects (the table itself carries on). */
  readonly onCleanupError?: (key: string, err: unknown) => void;
}

export class HandlerTable<V> {
  readonly #active = new Map<string, Entry<V>>();
  /** Inactive entries still referenced (or still cleaning up). */
  readonly #retired = new Set<Entry<V>>();
  readonly #cleanups = new Set<Promise<void>>();
  #total = 0;
  #closed = false;
  #version = 0;
  #waiters: Array<() => void> = [];
  readonly #onCleanupError: (key: string, err: unknown) => void;

  constructor(options: HandlerTableOptions = {}) {
    this.#onCleanupError = options.onCleanupError ?? (() => {});
  }

  /** Sum of all counts, active and inactive entries. */
  get totalRefs(): number {
    return this.#total;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * A number that changes whenever an entry is set or deleted and when the table closes: while it
   * is the same, `peek` of any key gives what it gave before. (For those who keep what they made
   * from the active entries: one comparison instead of a lookup per entry.)
   */
  get version(): number {
    return this.#version;
  }

  keys(): string[] {
    return [...this.#active.keys()];
  }

  has(key: string): boolean {
    return this.#active.has(key);
  }

  /** The active value under `key`, without taking a reference. */
  peek(key: string): V | undefined {
    return this.#active.get(key)?.value;
  }

  /** The count of the active entry under `key` (0 if none). */
  refs(key: string): number {
    return this.#active.get(key)?.refs ?? 0;
  }

  /** Inactive entries still waiting for their count to reach zero. */
  retired(): Array<{ key: string; refs: number }> {
    return [...this.#retired].filter((e) => e.refs > 0).map((e) => ({ key: e.key, refs: e.refs }));
  }

  /** Add or replace `key`. A replaced entry becomes inactive and is cleaned up when unreferenced. */
  set(key: string, value: V, options: SetOptions<V> = {}): void {
    if (this.#closed) throw new Error(`handler table is closed: cannot set "${key}"`);
    const old = this.#active.get(key);
    this.#active.set(key, { key, value, state: 'active', refs: 0, cleanup: options.cleanup, cleaned: false });
    this.#version++;
    if (old) this.#retire(old);
  }

  /** Remove `key`: new lookups get "gone"; running requests finish on it. */
  delete(key: string): boolean {
    const old = this.#active.get(key);
    if (!old) return false;
    this.#active.delete(key);
    this.#version++;
    this.#retire(old);
    return true;
  }

  /** Take a reference on the active entry under `key`. */
  acquire(key: string): AcquireResult<V> {
    if (this.#closed) return { ok: false, reason: 'closed', message: `"${key}" is unavailable: shutting down` };
    const entry = this.#active.get(key);
    if (!entry) return { ok: false, reason: 'gone', message: `"${key}" does not exist (or was removed)` };
    entry.refs++;
    this.#total++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      entry.refs--;
      this.#total--;
      if (entry.state === 'inactive' && entry.refs === 0) this.#cleanup(entry);
      if (this.#total === 0) this.#wake();
    };
    return {
      ok: true,
      lease: {
        key,
        value: entry.value,
        get stale() {
          return entry.state === 'inactive';
        },
        get released() {
          return released;
        },
        release,
      },
    };
  }

  /**
   * Run `fn` holding a reference on `key`; the reference is released however `fn` ends.
   * Throws HandlerGoneError if there is no active entry.
   */
  async with<R>(key: string, fn: (value: V, lease: Lease<V>) => R | Promise<R>): Promise<R> {
    const got = this.acquire(key);
    if (!got.ok) throw new HandlerGoneError(key, got.reason, got.message);
    try {
      return await fn(got.lease.value, got.lease);
    } finally {
      got.lease.release();
    }
  }

  /**
   * Mark every entry inactive (new lookups get "closed") and wait until the total count is zero
   * and cleanups have run, or until `deadline` (a `Date.now()` value).
   */
  async drain(deadline: number): Promise<DrainResult> {
    this.#closed = true;
    this.#version++;
    for (const entry of [...this.#active.values()]) this.#retire(entry);
    this.#active.clear();
    const remaining = deadline - Date.now();
    if (this.#total > 0 && remaining > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, remaining);
      });
      clearTimeout(timer);
    }
    if (this.#total === 0) await this.#settleCleanups(deadline);
    const left = this.retired();
    return { drained: left.length === 0, left };
  }

  #retire(entry: Entry<V>): void {
    entry.state = 'inactive';
    if (entry.refs === 0) this.#cleanup(entry);
    else this.#retired.add(entry);
  }

  #cleanup(entry: Entry<V>): void {
    this.#retired.delete(entry);
    if (entry.cleaned) return;
    entry.cleaned = true;
    if (!entry.cleanup) return;
    let p: Promise<void>;
    try {
      p = Promise.resolve(entry.cleanup(entry.value));
    } catch (err) {
      this.#onCleanupError(entry.key, err);
      return;
    }
    const tracked = p.catch((err: unknown) => this.#onCleanupError(entry.key, err)).finally(() => this.#cleanups.delete(tracked));
    this.#cleanups.add(tracked);
  }

  async #settleCleanups(deadline: number): Promise<void> {
    const remaining = deadline - Date.now();
    if (this.#cleanups.size === 0 || remaining <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.#cleanups),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, remaining);
      }),
    ]);
    clearTimeout(timer);
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
