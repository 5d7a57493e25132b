/** The MessageBus a service gets: over the supervisor's channel, or local when run alone. */
import type { Logger } from '@hearth/log';
import type { ServiceChannel } from './channel.js';
import type { ServiceMessage } from './protocol.js';
import type { MessageBus } from './service.js';

type Handler = (payload: unknown, from: string) => void;

/** Default bound on messages handed to the channel but not yet written. */
export const DEFAULT_MAX_PENDING = 1000;

class Handlers {
  readonly #byTopic = new Map<string, Set<Handler>>();

  constructor(private readonly log: Logger) {}

  /** True when this is the first handler for the topic. */
  add(topic: string, handler: Handler): boolean {
    const set = this.#byTopic.get(topic);
    if (set) {
      set.add(handler);
      return false;
    }
    this.#byTopic.set(topic, new Set([handler]));
    return true;
  }

  dispatch(topic: string, payload: unknown, from: string): void {
    const set = this.#byTopic.get(topic);
    if (!set) {
      this.log.debug({ topic, from }, 'message without a handler dropped');
      return;
    }
    for (const h of set) {
      try {
        h(payload, from);
      } catch (err) {
        this.log.error({ err, topic, from }, 'message handler failed');
      }
    }
  }
}

/**
 * Messages over the supervisor's channel. Outgoing messages are bounded: past `maxPending`
 * messages not yet written to the channel, new ones are dropped, counted, and `false` returned.
 *
 * `writable` and `drained()` tell a producer when to hold back, from the channel's own
 * back-pressure: once a send reports that Node buffers (`process.send` returns false past its
 * write-queue threshold) or `maxPending` messages wait, the bus is not writable; it is again once
 * the write of that message (and so of every one before it) completed and fewer than
 * `maxPending` wait.
 */
export class ChannelBus implements MessageBus {
  readonly #handlers: Handlers;
  #pending = 0;
  #dropped = 0;
  /** Sequence number of the last message sent, and of the last one the channel buffered. */
  #sent = 0;
  #bufferedAt = 0;
  #waiters: Array<() => void> = [];

  constructor(
    private readonly channel: ServiceChannel,
    private readonly log: Logger,
    private readonly maxPending = DEFAULT_MAX_PENDING,
  ) {
    this.#handlers = new Handlers(log);
  }

  /** Messages dropped because the channel was closed or too far behind. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Messages handed to the channel and not yet written. */
  get pending(): number {
    return this.#pending;
  }

  /** A closed channel counts as writable: sends to it fail at once (dropped, counted), nobody waits. */
  get writable(): boolean {
    return !this.channel.connected || (this.#bufferedAt === 0 && this.#pending < this.maxPending);
  }

  drained(): Promise<void> {
    if (this.writable) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  send(to: string, topic: string, payload: unknown): boolean {
    return this.#post({ t: 'msg', to, topic, payload });
  }

  publish(topic: string, payload: unknown): boolean {
    return this.#post({ t: 'msg', topic, payload });
  }

  on(topic: string, handler: Handler): void {
    if (this.#handlers.add(topic, handler) && this.channel.connected) {
      this.channel.send({ t: 'subscribe', topics: [topic] });
    }
  }

  /** An incoming `msg` from the supervisor. */
  dispatch(topic: string, payload: unknown, from: string): void {
    this.#handlers.dispatch(topic, payload, from);
  }

  /** The channel closed: nobody waits for a drain that cannot come (their sends are dropped). */
  disconnected(): void {
    this.#wakeWaiters();
  }

  #post(message: ServiceMessage): boolean {
    if (!this.channel.connected || this.#pending >= this.maxPending) {
      this.#dropped++;
      if (this.#dropped === 1 || this.#dropped % 1000 === 0) {
        this.log.warn({ dropped: this.#dropped, pending: this.#pending }, 'outgoing message dropped');
      }
      return false;
    }
    this.#pending++;
    const seq = ++this.#sent;
    try {
      const flowing = this.channel.send(message, (err) => {
        this.#pending--;
        if (err) this.#dropped++;
        if (seq >= this.#bufferedAt) this.#bufferedAt = 0;
        if (this.#waiters.length > 0 && this.writable) this.#wakeWaiters();
      });
      if (!flowing) this.#bufferedAt = seq;
    } catch (err) {
      this.#pending--;
      this.#dropped++;
      this.log.warn({ err }, 'outgoing message failed');
      return false;
    }
    return true;
  }

  #wakeWaiters(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** When a service runs alone: messages to itself (by name or topic) loop back; others are dropped. */
export class LocalBus implements MessageBus {
  readonly #handlers: Handlers;

  constructor(
    private readonly name: string,
    private readonly log: Logger,
  ) {
    this.#handlers = new Handlers(log);
  }

  send(to: string, topic: string, payload: unknown): boolean {
    if (to !== this.name) {
      this.log.debug({ to, topic }, 'no supervisor: message to another service dropped');
      return false;
    }
    queueMicrotask(() => this.#handlers.dispatch(topic, payload, this.name));
    return true;
  }

  publish(topic: string, payload: unknown): boolean {
    queueMicrotask(() => this.#handlers.dispatch(topic, payload, this.name));
    return true;
  }

  on(topic: string, handler: Handler): void {
    this.#handlers.add(topic, handler);
  }

  /** Messages loop back on a later microtask: nothing ever waits. */
  readonly writable = true;

  drained(): Promise<void> {
    return Promise.resolve();
  }
}
