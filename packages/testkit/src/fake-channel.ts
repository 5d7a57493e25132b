/**
 * A supervisor channel without a supervisor: run a service under `runService` in the test's own
 * process, play the supervisor's messages with `deliver` (a bound handle may come with them, as
 * over real IPC), and read what the service sent from `sent`, `msgs(topic)` or `next(match)`.
 * A send's callback runs on a later turn of the event loop, as a real channel's write does.
 */
import type { BoundHandle, ServiceChannel, ServiceMessage, SupervisorMessage } from '@hearth/runtime';

type Handler = (message: SupervisorMessage, handle: BoundHandle | undefined) => void;
type BusMessage = Extract<ServiceMessage, { t: 'msg' }>;

export class FakeSupervisorChannel implements ServiceChannel {
  connected = true;
  /** Everything the service sent, in order. */
  readonly sent: ServiceMessage[] = [];
  #handler: Handler | undefined;
  readonly #waiters: { match: (m: ServiceMessage) => boolean; resolve: (m: ServiceMessage) => void }[] = [];

  send(message: ServiceMessage, callback?: (err: Error | null) => void): boolean {
    this.sent.push(message);
    for (const waiter of this.#waiters.filter((w) => w.match(message))) {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    }
    setImmediate(() => callback?.(null));
    return true;
  }

  onMessage(handler: Handler): () => void {
    this.#handler = handler;
    return () => (this.#handler = undefined);
  }

  onDisconnect(): () => void {
    return () => undefined;
  }

  /** A message from the supervisor to the service. */
  deliver(message: SupervisorMessage, handle?: BoundHandle): void {
    this.#handler?.(message, handle);
  }

  /** The bus messages the service sent on `topic`. */
  msgs(topic: string): BusMessage[] {
    return this.sent.filter((m): m is BusMessage => m.t === 'msg' && m.topic === topic);
  }

  /** The first message sent (already, or from now on) that `match` accepts. */
  next(match: (m: ServiceMessage) => boolean): Promise<ServiceMessage> {
    const seen = this.sent.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }
}
