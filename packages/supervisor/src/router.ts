/**
 * The supervisor's message bus between services (topics in docs/ARCHITECTURE.md): a service's
 * `subscribe` records its topics on its instance; a `msg` with `to` goes to every live instance of
 * that service (during an overlapped restart, the old and the new one), a `msg` without `to` to
 * every other instance subscribed to its topic. Each instance bounds what it queues for its child
 * (instance.ts): a recipient that stops reading loses messages, the sender never waits.
 */
import type { Logger } from '@hearth/log';
import type { ServiceMessage } from '@hearth/runtime';
import type { Instance } from './instance.js';
import type { ServiceUnit } from './unit.js';

/** The most topics one instance may subscribe to. */
export const MAX_TOPICS = 256;

export class MessageRouter {
  constructor(
    private readonly units: ReadonlyMap<string, ServiceUnit>,
    private readonly log: Logger,
  ) {}

  route(from: Instance, msg: ServiceMessage): void {
    if (msg.t === 'subscribe') {
      if (!Array.isArray(msg.topics)) return;
      for (const t of msg.topics) if (typeof t === 'string' && from.subscriptions.size < MAX_TOPICS) from.subscriptions.add(t);
      return;
    }
    if (msg.t !== 'msg' || typeof msg.topic !== 'string') return;
    const out = { t: 'msg', from: from.name, topic: msg.topic, payload: msg.payload } as const;
    if (msg.to !== undefined) {
      const targets = this.units.get(String(msg.to))?.instances() ?? [];
      const sent = targets.filter((t) => t.send(out)).length;
      if (sent === 0) this.log.debug({ service: from.name, to: msg.to, topic: msg.topic }, 'message dropped: no running recipient');
      return;
    }
    for (const unit of this.units.values()) {
      for (const target of unit.instances()) {
        if (target !== from && target.subscriptions.has(msg.topic)) target.send(out);
      }
    }
  }
}
