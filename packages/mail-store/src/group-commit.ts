/**
 * Group commit: items submitted while a commit is in flight are committed together by the next
 * one. A lone item is never delayed: when nothing is in flight, its commit starts at once.
 */
export type Settled<R> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: unknown };

interface Waiting<T, R> {
  readonly item: T;
  readonly resolve: (value: R) => void;
  readonly reject: (error: unknown) => void;
}

export class GroupCommit<T, R> {
  readonly #commit: (items: readonly T[]) => Promise<readonly Settled<R>[]>;
  readonly #maxBatch: number;
  #queue: Waiting<T, R>[] = [];
  #active = false;
  #running: Promise<void> = Promise.resolve();

  /** `commit` settles each item of a batch; if it throws, every item of the batch fails with it. */
  constructor(commit: (items: readonly T[]) => Promise<readonly Settled<R>[]>, maxBatch = 512) {
    this.#commit = commit;
    this.#maxBatch = maxBatch;
  }

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#active) {
        this.#active = true;
        this.#running = this.#drain();
      }
    });
  }

  /** Resolves when nothing is queued or in flight. */
  async idle(): Promise<void> {
    while (this.#active) await this.#running;
  }

  async #drain(): Promise<void> {
    // `#active` is cleared in the same synchronous step that finds the queue empty, so a submit
    // can never find it set by a drain that has already finished.
    try {
      while (this.#queue.length > 0) await this.#commitBatch(this.#queue.splice(0, this.#maxBatch));
    } finally {
      this.#active = false;
    }
  }

  async #commitBatch(batch: readonly Waiting<T, R>[]): Promise<void> {
    try {
      const results = await this.#commit(batch.map((waiting) => waiting.item));
      batch.forEach((waiting, i) => {
        const result = results[i];
        if (result?.ok) waiting.resolve(result.value);
        else waiting.reject(result ? result.error : new Error('group commit returned no result'));
      });
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    }
  }
}
