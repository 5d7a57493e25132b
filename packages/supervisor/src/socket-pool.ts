/**
 * Every socket the supervisor holds, from the first bind to the last close. `hearth up` binds
 * every service's listeners before anything starts; a reload reuses a held socket where a new
 * config asks for the same address and binds only what is new, reserving both until the reload
 * is applied; a socket is closed once no service's config, no live instance and no reload under
 * way uses it (a service's old instances keep theirs while they drain).
 */
import type { BoundHandle } from '@hearth/runtime';
import type { Logger } from '@hearth/log';
import type { ServiceConfig } from './config.js';
import { bindListeners, closeListeners } from './listeners.js';
import type { HeldListener } from './listeners.js';
import { assignListeners } from './reconcile.js';

/** What may use a held socket: a service (a `ServiceUnit`), by its config and its live instances. */
export interface SocketUser {
  readonly held: readonly HeldListener[];
  instances(): ReadonlyArray<{ readonly listeners: readonly HeldListener[] }>;
}

export class SocketPool {
  readonly #held = new Set<HeldListener>();
  /** Bound for a reload under way, not yet in a unit's config: never swept. */
  readonly #reserved = new Set<HeldListener>();

  constructor(private readonly log: Logger) {}

  /**
   * Binds the listeners of every service, by service name. A failure throws the ListenerError;
   * what was bound stays held until `closeAll`.
   */
  async bindAll(services: readonly ServiceConfig[]): Promise<Map<string, HeldListener[]>> {
    const heldBy = new Map<string, HeldListener[]>();
    for (const svc of services) {
      const held = await bindListeners(svc.name, svc.listen);
      for (const h of held) this.#held.add(h);
      heldBy.set(svc.name, held);
    }
    return heldBy;
  }

  /**
   * The sockets each of `services` will use in a reload: a held one where the address is the
   * same, else newly bound. All or nothing: a bind failure closes what this call bound and
   * throws the ListenerError. Everything returned is reserved until `release`.
   */
  async reserve(services: readonly ServiceConfig[]): Promise<Map<string, HeldListener[]>> {
    const fresh: HeldListener[] = [];
    const current = [...this.#held];
    const heldFor = new Map<string, HeldListener[]>();
    for (const svc of services) heldFor.set(svc.name, await assignListeners(svc, current, fresh));
    for (const h of fresh) this.#held.add(h);
    for (const list of heldFor.values()) for (const h of list) this.#reserved.add(h);
    return heldFor;
  }

  /** Ends the reservation of the reload that was applied. */
  release(): void {
    this.#reserved.clear();
  }

  /**
   * Closes every held socket that none of `users` uses (in its config's listeners, or in one of
   * its live instances: an old one draining keeps its own) and no reload under way has reserved.
   */
  async sweep(users: Iterable<SocketUser>): Promise<void> {
    const used = new Set<BoundHandle>([...this.#reserved].map((h) => h.handle));
    for (const user of users) {
      for (const h of user.held) used.add(h.handle);
      for (const i of user.instances()) for (const h of i.listeners) used.add(h.handle);
    }
    const unused = [...this.#held].filter((h) => !used.has(h.handle));
    for (const h of unused) this.#held.delete(h);
    // A handle may be shared by several HeldListener records: close it only if none is left.
    const stillHeld = new Set([...this.#held].map((h) => h.handle));
    const closing = unused.filter((h) => !stillHeld.has(h.handle));
    if (closing.length > 0) {
      this.log.info({ listeners: closing.map((h) => `${h.spec.address}:${h.spec.port}/${h.spec.protocol}`) }, 'closing listeners no longer used');
      await closeListeners(closing);
    }
  }

  /** Closes every socket (exit, or a failed start). */
  async closeAll(): Promise<void> {
    await closeListeners([...this.#held]);
    this.#held.clear();
  }
}
