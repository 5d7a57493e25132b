/**
 * Standalone mode under another user (`hearth run NAME` as root, the service's `user:` in the
 * config): its listeners are bound first, as root (a port under 1024 included), on handles such
 * as the supervisor holds; then the process takes the user's identity, before the service starts
 * and opens its data, as nginx binds before its workers drop to `user`.
 */
import { boundAddress } from './bound-handle.js';
import { bindSpec, handedListener } from './listeners.js';
import type { ListenerSpec } from './protocol.js';
import type { ServiceListener } from './service.js';

/** The user a standalone service runs as: its passwd entry's name, ids and home. */
export interface RunAsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

/** The identity could not be taken: the service does not start (rather than run as root). */
export class RunAsError extends Error {
  override readonly name = 'RunAsError';
}

/** Binds every listener now; each is then listened (or received) on by the service, as a handed one. */
export function bindNow(specs: readonly ListenerSpec[]): Map<string, ServiceListener> {
  const listeners = new Map<string, ServiceListener>();
  for (const spec of specs) {
    if (listeners.has(spec.name)) continue;
    let handle;
    try {
      handle = bindSpec(spec);
    } catch (err) {
      throw new RunAsError(`listener ${spec.name}: ${(err as Error).message}`);
    }
    listeners.set(spec.name, handedListener({ ...spec, port: boundAddress(handle).port }, handle));
  }
  return listeners;
}

/**
 * Takes `user`'s identity for good: its gid as the only group, then its uid; HOME, USER and
 * LOGNAME follow. The same as a child of the supervisor gets (spawned with the uid and gid, which
 * clears the supplementary groups).
 */
export function takeIdentity(user: RunAsUser): void {
  try {
    process.setgroups!([user.gid]);
    process.setgid!(user.gid);
    process.setuid!(user.uid);
  } catch (err) {
    throw new RunAsError(`cannot run as user "${user.name}" (uid ${user.uid}, gid ${user.gid}): ${(err as Error).message}`);
  }
  if (process.getuid!() !== user.uid || process.getgid!() !== user.gid) {
    throw new RunAsError(`cannot run as user "${user.name}": still uid ${process.getuid!()}, gid ${process.getgid!()}`);
  }
  Object.assign(process.env, { HOME: user.home, USER: user.name, LOGNAME: user.name });
}
