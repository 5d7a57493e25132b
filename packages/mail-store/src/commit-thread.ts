/**
 * The main-thread side of a store thread (`commit-worker.ts`): requests answered in order, the
 * worker referenced only while a request is in flight (an idle store never keeps a process
 * alive), every pending request failed with a temporary error if the thread dies.
 */
import { Worker } from 'node:worker_threads';
import type { WorkerConfig, WorkerReply, WorkerRequest } from './commit-protocol.js';
import { MailStoreError } from './errors.js';

type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

interface Pending {
  readonly resolve: (reply: WorkerReply) => void;
  readonly reject: (error: unknown) => void;
}

const WORKER_URL = new URL('./commit-worker.js', import.meta.url);

export class StoreThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #dead: MailStoreError | undefined;
  #closing = false;
  readonly #exited: Promise<void>;

  constructor(config: WorkerConfig) {
    this.#worker = new Worker(WORKER_URL, { workerData: config, stdout: false, stderr: false });
    this.#worker.on('message', (reply: WorkerReply) => {
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0 && !this.#closing) this.#worker.unref();
      pending.resolve(reply);
    });
    this.#worker.on('error', (error) => this.#fail(error));
    this.#exited = new Promise((resolve) => {
      this.#worker.once('exit', () => {
        this.#fail(new Error('the store thread exited'));
        resolve();
      });
    });
    // After the listeners: adding a 'message' listener references the worker's port again.
    this.#worker.unref();
  }

  /** False once the thread failed or exited: make a new one. */
  get alive(): boolean {
    return this.#dead === undefined;
  }

  request(request: Request): Promise<WorkerReply> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    return new Promise<WorkerReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (this.#pending.size === 1) this.#worker.ref();
      this.#worker.postMessage({ ...request, id } as WorkerRequest);
    });
  }

  /** Closes the thread's connection and waits for it to exit. */
  async close(): Promise<void> {
    // Referenced until it has exited: a caller awaiting close() must not see the loop run dry.
    this.#closing = true;
    this.#worker.ref();
    if (this.alive) await this.request({ type: 'close' }).catch(() => undefined);
    await this.#exited;
  }

  #fail(error: unknown): void {
    if (this.#dead) return;
    const detail = error instanceof Error ? error.message : String(error);
    this.#dead = new MailStoreError('STORAGE_ERROR', `mail store thread failed: ${detail}`, { cause: error });
    for (const pending of this.#pending.values()) pending.reject(this.#dead);
    this.#pending.clear();
    this.#worker.unref();
  }
}
