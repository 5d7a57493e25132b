/**
 * How a stopping instance drains its sessions, the same rule for every protocol.
 *
 * `RunningService.stop(deadline)` is the drain signal. From then on the service accepts nothing
 * new, and every session it already accepted goes on normally (a client still in AUTHORIZATION
 * may log in and work) until its client ends it. Only shortly before the deadline, at
 * `goodbyeAt(deadline)`, do the sessions still open get the protocol's goodbye (`-ERR [SYS/TEMP]`,
 * `421`, a `503` with `Connection: close`), said between commands; at the deadline itself what
 * is left is destroyed. `drainUntil` runs that timeline; the service supplies the three parts
 * only it knows: when nothing is open any more, how to say goodbye, how to cut.
 */

/** The most time before the deadline that the goodbye is said (the sessions then have it to close). */
export const GOODBYE_MARGIN_MS = 1000;

/**
 * When sessions still open get the goodbye: `GOODBYE_MARGIN_MS` before the deadline, or a quarter
 * of the time left when that is shorter (a short deadline still lets sessions finish first).
 */
export function goodbyeAt(deadline: number, now = Date.now()): number {
  const left = Math.max(0, deadline - now);
  return deadline - Math.min(GOODBYE_MARGIN_MS, Math.floor(left / 4));
}

export interface DrainParts {
  /** Resolves once no session (nor connection still in a TLS handshake) is open. */
  readonly idle: Promise<void>;
  /**
   * Called once at `goodbyeAt(deadline)` if something is still open: each open session says the
   * protocol's goodbye as soon as no command is under way, then closes; one that opens later
   * (a TLS handshake that ends now) says it at once.
   */
  goodbye(): void;
  /** Called once at the deadline if something is still open: close everything at once. */
  destroy(): void;
}

/** How a drain ended: every session ended by its client, some after the goodbye, or cut at the deadline. */
export type DrainOutcome = 'finished' | 'goodbye' | 'destroyed';

/** Runs the drain timeline until `parts.idle` or the deadline; never waits past the deadline. */
export async function drainUntil(deadline: number, parts: DrainParts): Promise<DrainOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const until = (at: number): Promise<'timeout'> =>
    new Promise((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.max(0, at - Date.now()));
    });
  const idle = parts.idle.then(() => 'idle' as const);
  try {
    if ((await Promise.race([idle, until(goodbyeAt(deadline))])) === 'idle') return 'finished';
    clearTimeout(timer);
    parts.goodbye();
    if ((await Promise.race([idle, until(deadline)])) === 'idle') return 'goodbye';
    parts.destroy();
    return 'destroyed';
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A promise that resolves once `count()` is zero, checked now and each time `changed` is called
 * (from the place where a session or connection is removed).
 */
export function whenEmpty(count: () => number): { readonly empty: Promise<void>; changed(): void } {
  let resolve!: () => void;
  const empty = new Promise<void>((r) => (resolve = r));
  const changed = (): void => {
    if (count() === 0) resolve();
  };
  changed();
  return { empty, changed };
}
