/**
 * The listeners the supervisor holds: bound once (before any service starts), handed to every new
 * instance of their service, never listened or accepted on here, closed only at exit (or, with
 * reload, when their config changes).
 */
import { bindSpec, boundAddress, closeBoundHandle } from '@hearth/runtime';
import type { BoundHandle, ListenerSpec } from '@hearth/runtime';

export interface HeldListener {
  /** As configured, except `port`: the real port when the config said 0. */
  readonly spec: ListenerSpec;
  /** Endpoint index within the listener (one endpoint per listener today). */
  readonly index: number;
  readonly handle: BoundHandle;
  /** The port as configured (0: any free port, never shared by a reload). */
  readonly configuredPort: number;
}

/** A listener that could not be bound (a port in use, an address not ours), naming its config key. */
export class ListenerError extends Error {
  override readonly name = 'ListenerError';
  constructor(
    message: string,
    /** The listener's key in the config: `['services', service, 'listen', name]`. */
    readonly path: readonly string[] = [],
  ) {
    super(message);
  }
}

/** Binds every listener of `service`; on a failure closes what it bound and throws one clear line. */
export async function bindListeners(service: string, specs: readonly ListenerSpec[]): Promise<HeldListener[]> {
  const held: HeldListener[] = [];
  for (const spec of specs) {
    try {
      const handle = bindSpec(spec);
      const port = boundAddress(handle).port;
      held.push({ spec: { ...spec, port }, index: 0, handle, configuredPort: spec.port });
    } catch (err) {
      await closeListeners(held);
      throw new ListenerError(`services.${service}.listen.${spec.name}: ${(err as Error).message}`, ['services', service, 'listen', spec.name]);
    }
  }
  return held;
}

/** Closes each distinct handle once. */
export async function closeListeners(held: readonly HeldListener[]): Promise<void> {
  await Promise.all([...new Set(held.map((h) => h.handle))].map((h) => closeBoundHandle(h)));
}
