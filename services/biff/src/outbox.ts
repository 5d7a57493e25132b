/**
 * Outgoing notifications, one bounded queue per subscribing service.
 *
 * biff talks to every subscriber through one channel, its own to the supervisor. The runtime's bus
 * bounds what waits in that channel (it drops past its limit) and says when it is behind
 * (`writable`, from the channel's own back-pressure); biff then stops sending, holds the rest in
 * the queue of the service it is for until the bus has `drained()`, and takes from the queues in
 * turn so one busy subscriber cannot starve the others. A queue that reaches `perSubscriber` drops its oldest
 * notification (counted): a subscriber that falls that far behind re-reads its maildrop index on
 * the next notification anyway, so the newest are the ones worth keeping. Memory is therefore at
 * most `perSubscriber` notifications per subscribing service (and the number of services is
 * bounded by the subscription limits).
 *
 * Notices posted in a burst (a delivery to thousands of users arrives as one batch) are sent once
 * the burst is handled, as one `{ batch }` message per subscriber of up to
 * MAX_BATCH notices: one IPC hop for thousands of notices.
 *
 * The hop from the supervisor to the subscriber is bounded by the supervisor (a fixed number of
 * messages queued per child, the rest dropped and counted there): a subscriber that stops reading
 * its channel costs biff nothing.
 */
import { MAX_BATCH, type NewMail } from '@hearth/mail-delivery';
import type { MessageBus } from '@hearth/runtime';
import { TOPICS } from './topics.js';

export interface OutboxLimits {
  readonly perSubscriber: number;
}

export interface OutboxCounters {
  notified: number;
  dropped: number;
}

/** A fixed-capacity FIFO that overwrites nothing: the caller drops the oldest when full. */
class Ring<T> {
  readonly #items: Array<T | undefined>;
  #head = 0;
  #size = 0;

  constructor(capacity: number) {
    this.#items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }
  get full(): boolean {
    return this.#size === this.#items.length;
  }

  push(item: T): void {
    this.#items[(this.#head + this.#size) % this.#items.length] = item;
    this.#size++;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#items.length;
    this.#size--;
    return item;
  }
}

export class Outbox {
  readonly #queues = new Map<string, Ring<NewMail>>();
  /** True while a `drained()` wait is under way: sending resumes (in order) when it resolves. */
  #waiting = false;
  #burst = 0;
  #closed = false;
  #queued = 0;
  #peak = 0;

  constructor(
    private readonly bus: MessageBus,
    private limits: OutboxLimits,
    private readonly counters: OutboxCounters,
  ) {}

  /** New bounds (a reload): queues longer than the new bound keep their newest notifications. */
  setLimits(limits: OutboxLimits): void {
    this.limits = limits;
    for (const [service, queue] of this.#queues) {
      const next = new Ring<NewMail>(limits.perSubscriber);
      while (queue.size > limits.perSubscriber) {
        queue.shift();
        this.#queued--;
        this.counters.dropped++;
      }
      for (let n = queue.shift(); n !== undefined; n = queue.shift()) next.push(n);
      this.#queues.set(service, next);
    }
    this.#drain();
  }

  /** Notifications waiting in biff, over all subscribers. */
  get queued(): number {
    return this.#queued;
  }

  /** The most notifications that ever waited in biff at once. */
  get peakQueued(): number {
    return this.#peak;
  }

  /** Notifications waiting for `service`. */
  queuedFor(service: string): number {
    return this.#queues.get(service)?.size ?? 0;
  }

  /** Queue `notice` for `service` and send what the channel takes now. */
  post(service: string, notice: NewMail): void {
    if (this.#closed) {
      this.counters.dropped++;
      return;
    }
    let queue = this.#queues.get(service);
    if (!queue) {
      queue = new Ring(this.limits.perSubscriber);
      this.#queues.set(service, queue);
    }
    if (queue.full) {
      queue.shift();
      this.counters.dropped++;
    } else {
      this.#queued++;
      if (this.#queued > this.#peak) this.#peak = this.#queued;
    }
    queue.push(notice);
    // In a burst, a full batch leaves at once: the queue bound is never what drops a burst.
    if (this.#burst === 0 || queue.size >= MAX_BATCH) this.#drain();
  }

  /** Post many notices in `fn` and send them once it is done, batched per subscriber. */
  burst(fn: () => void): void {
    this.#burst++;
    try {
      fn();
    } finally {
      this.#burst--;
      if (this.#burst === 0) this.#drain();
    }
  }

  /** Forget a service's queue (its subscriptions are gone). */
  forget(service: string): void {
    const queue = this.#queues.get(service);
    if (!queue) return;
    this.counters.dropped += queue.size;
    this.#queued -= queue.size;
    this.#queues.delete(service);
  }

  /** Send what can be sent now; drop the rest (counted). */
  close(): void {
    this.#drain();
    this.#closed = true;
    for (const service of [...this.#queues.keys()]) this.forget(service);
  }

  #drain(): void {
    if (this.#waiting) return; // sending resumes once the bus drained: keep the order
    while (this.#queues.size > 0) {
      for (const [service, queue] of this.#queues) {
        if (!this.bus.writable) {
          this.#waitForDrain();
          return;
        }
        const notices: NewMail[] = [];
        while (notices.length < MAX_BATCH && queue.size > 0) notices.push(queue.shift()!);
        this.#queued -= notices.length;
        if (queue.size === 0) this.#queues.delete(service);
        const payload = notices.length === 1 ? notices[0] : { batch: notices };
        if (this.bus.send(service, TOPICS.notify, payload)) this.counters.notified += notices.length;
        else this.counters.dropped += notices.length;
      }
    }
  }

  #waitForDrain(): void {
    if (this.#closed) return;
    this.#waiting = true;
    void this.bus.drained().then(() => {
      this.#waiting = false;
      if (!this.#closed) this.#drain();
    });
  }
}
