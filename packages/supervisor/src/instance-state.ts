/**
 * The lifecycle of one process of a service (`instance.ts`), in one value changed only by
 * `nextInstanceState`:
 *
 *     loading --standing-by--> standing-by          (a warm standby: code loaded, handles held)
 *     loading | standing-by --promote--> active     (the standby gets `start`)
 *     active | loading | standing-by --stop--> stopping
 *
 * An instance spawned to serve starts `active`; a standby starts `loading`. `since` is when a
 * promoted standby began serving (undefined: since it was spawned). A `standing-by` that arrives
 * after a promotion or a stop changes nothing (the process said it late); `stop` is idempotent.
 */

export type InstanceState =
  | { readonly kind: 'loading' }
  | { readonly kind: 'standing-by' }
  | { readonly kind: 'active'; readonly since: number | undefined }
  | { readonly kind: 'stopping'; readonly since: number | undefined };

export type InstanceEvent =
  | { readonly type: 'standing-by' }
  | { readonly type: 'promote'; readonly at: number }
  | { readonly type: 'stop' };

/** A move the machine does not have: names the state and the event. */
export class IllegalTransitionError extends Error {
  override readonly name = 'IllegalTransitionError';
  constructor(machine: string, from: string, event: string) {
    super(`${machine}: cannot ${event} in state ${from}`);
  }
}

export function nextInstanceState(state: InstanceState, event: InstanceEvent): InstanceState {
  switch (event.type) {
    case 'standing-by':
      return state.kind === 'loading' ? { kind: 'standing-by' } : state;
    case 'promote':
      if (state.kind !== 'loading' && state.kind !== 'standing-by') throw new IllegalTransitionError('instance', state.kind, 'promote');
      return { kind: 'active', since: event.at };
    case 'stop':
      return { kind: 'stopping', since: state.kind === 'active' || state.kind === 'stopping' ? state.since : undefined };
  }
}

/** Whether the instance is a standby not promoted yet. */
export function isStandbyState(state: InstanceState): boolean {
  return state.kind === 'loading' || state.kind === 'standing-by';
}
