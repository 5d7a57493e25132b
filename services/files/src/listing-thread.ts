/**
 * The service's side of the listing thread (`listing-worker.ts`). A large PROPFIND is mostly two
 * kinds of work per member: the stat call, made on the service's thread (relative to the open
 * folder, `methods/propfind.ts`), and the XML with its UTF-8 bytes. The listing sends each batch of
 * members here and goes on with the next batch's stat calls while this thread renders it: on two
 * cores a listing costs about its stat calls.
 *
 * The thread starts with the first large batch and ends after `IDLE_MS` without one; until it is
 * online, after it failed (for `RETRY_MS`) and after `close`, batches are rendered on the calling
 * thread by the same function, and so are the batches it had when it failed. `render` never fails.
 * Small batches (a folder of a few members) are rendered at once: the round trip would cost more.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '@hearth/log';
import { renderBatch, type MemberBatch } from './listing-batch.js';
import type { RenderReply, RenderRequest } from './listing-worker.js';

/** Batches with fewer members are rendered on the calling thread. */
export const OFFLOAD_MIN = 32;
/** Without a batch for this long, the thread ends (it holds some memory). */
const IDLE_MS = 60_000;
/** After the thread failed, batches are rendered on the calling thread for this long. */
const RETRY_MS = 10_000;

const WORKER_URL = new URL('./listing-worker.js', import.meta.url);

type State =
  | { readonly kind: 'idle' }
  | { readonly kind: 'starting'; readonly worker: Worker }
  | { readonly kind: 'online'; readonly worker: Worker; readonly idle: NodeJS.Timeout }
  | { readonly kind: 'failed'; readonly until: number }
  | { readonly kind: 'closed' };

export class ListingThread {
  #state: State = { kind: 'idle' };
  readonly #pending = new Map<number, { readonly batch: MemberBatch; readonly resolve: (out: Uint8Array) => void }>();
  #nextId = 1;

  /** `workerUrl`: the thread's module (another one in tests). */
  constructor(
    private readonly log: Logger,
    private readonly workerUrl: URL = WORKER_URL,
  ) {}

  /** Where the thread is: batches go to it only while it is `online`. */
  get status(): State['kind'] {
    return this.#state.kind;
  }

  /** The batch's XML as UTF-8, from the thread or rendered here. */
  render(batch: MemberBatch): Promise<Uint8Array> | Uint8Array {
    if (batch.size < OFFLOAD_MIN) return renderBatch(batch);
    const state = this.#state;
    if (state.kind === 'idle' || (state.kind === 'failed' && Date.now() >= state.until)) this.#start();
    if (state.kind !== 'online') return renderBatch(batch);
    state.idle.refresh();
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, { batch, resolve });
      if (this.#pending.size === 1) state.worker.ref();
      state.worker.postMessage({ id, batch } satisfies RenderRequest);
    });
  }

  /** Ends the thread; batches it had are rendered here. */
  async close(): Promise<void> {
    const state = this.#state;
    this.#state = { kind: 'closed' };
    if (state.kind === 'starting' || state.kind === 'online') {
      if (state.kind === 'online') clearTimeout(state.idle);
      await state.worker.terminate();
    }
  }

  #start(): void {
    const worker = new Worker(this.workerUrl, { stdout: false, stderr: false });
    this.#state = { kind: 'starting', worker };
    worker.on('online', () => {
      if (this.#state.kind !== 'starting' || this.#state.worker !== worker) return;
      const idle = setTimeout(() => this.#stopIdle(worker), IDLE_MS).unref();
      this.#state = { kind: 'online', worker, idle };
    });
    worker.on('message', (reply: RenderReply) => {
      const pending = this.#pending.get(reply.id);
      if (pending === undefined) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) worker.unref();
      pending.resolve(reply.bytes);
    });
    worker.on('error', (err) => this.log.warn({ err }, 'listing thread failed: listings are rendered on the service thread for a while'));
    worker.once('exit', () => {
      const state = this.#state;
      if ((state.kind === 'starting' || state.kind === 'online') && state.worker === worker) {
        if (state.kind === 'online') clearTimeout(state.idle);
        this.#state = { kind: 'failed', until: Date.now() + RETRY_MS };
      }
      for (const { batch, resolve } of this.#pending.values()) resolve(renderBatch(batch));
      this.#pending.clear();
    });
    // After the listeners: a 'message' listener references the worker again.
    worker.unref();
  }

  #stopIdle(worker: Worker): void {
    const state = this.#state;
    if (state.kind !== 'online' || state.worker !== worker) return;
    if (this.#pending.size > 0) {
      state.idle.refresh();
      return;
    }
    this.#state = { kind: 'idle' };
    void worker.terminate();
  }
}
