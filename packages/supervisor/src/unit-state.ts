/**
 * A unit's two state machines, each one value changed only through `checkUnitMove` (the
 * lifecycle, by `unit.ts`) or `checkRestartMove` (the restart under way, by its
 * `restart-machine.ts`): a move not in the table throws, naming both states.
 *
 * The lifecycle (`UnitState`), with the instance each state holds:
 *
 *     stopped | done | backoff | failed --start--> starting
 *     starting (spawning, no instance) --spawned--> starting (instance) --ready--> running
 *     starting --not ready: killed--> not-ready --exit--> backoff | done | failed
 *     starting | running --exit--> backoff | done | failed
 *     running --exit of the old one during an overlapped restart--> starting (no instance)
 *     running | starting --overlapped restart: the new one is ready--> running
 *     backoff | done | failed --the same, after the old one's exit (before the new one was
 *                               spawned) was judged--> running
 *     starting | not-ready | running --stop--> stopping --> stopped
 *     stopped (a stop during a spawn) --spawned--> stopping
 *     any but failed, its instance gone or none --stop--> stopped (failed stays failed)
 *     backoff --retry--> starting;  starting (no instance) --new one not ready, old gone--> backoff
 *     stopped --kept down for a requirement (a StopCause)--> stopped
 *     failed --kept failed by a reload for a requirement down (`keptFor`)--> failed
 *
 * `done`: exited, and its restart policy does not start it again (shown as `stopped`, its reason
 * saying so, but the operator still wants it: `wanted`; its starts are over: `ended`).
 * `not-ready`: shown as `starting`; its exit is judged like a crash although the unit killed it.
 *
 * The restart under way (`RestartState`), beside the lifecycle:
 *
 *     idle --restart (stop-then-start)--> cold --> idle
 *     idle --restart (overlapped)--> overlapping (old, fresh once spawned) --new one ready--> draining (old) --> idle
 *     overlapping --new one not ready, or stopped--> idle
 */
import { describeExit } from '@hearth/process';
import type { ExitInfo } from '@hearth/process';
import type { ServiceConfig } from './config.js';
import { which, type RequirementState } from './control-protocol.js';
import type { ServiceState } from './status.js';

/**
 * Why a stopped unit is down when no stop was asked for it: what status shows as its reason, until
 * it starts or is stopped on request (`hearth stop NAME` clears it).
 */
export type StopCause =
  /** Not started (at `hearth up`, or added or released by a reload): `requires` was not running. */
  | { readonly kind: 'held-back'; readonly requires: string; readonly state: RequirementState }
  /** Stopped first by `hearth stop SERVICE`: it requires `through[0]`, which requires ... SERVICE. */
  | { readonly kind: 'stopped-with'; readonly service: string; readonly through: readonly string[] }
  /** Stopped by a reload whose config makes it require `requires`, which was not up. */
  | { readonly kind: 'requirement-down'; readonly requires: string; readonly state: RequirementState };

/** The status reason of a stop cause. */
export function describeStopCause(cause: StopCause): string {
  switch (cause.kind) {
    case 'held-back':
      return `not started: it requires ${cause.requires}, ${which(cause.state)}`;
    case 'stopped-with':
      return `stopped with ${cause.service}: it requires ${cause.through.join(', which requires ')}`;
    case 'requirement-down':
      return `stopped by a reload: it requires ${cause.requires}, ${which(cause.state)}`;
  }
}

export type UnitState<I> =
  /** `cause`: why it is down when no stop was asked for it (none: never started, or stopped on request). */
  | { readonly kind: 'stopped'; readonly cause?: StopCause }
  /** `instance` undefined: being spawned, or the old instance of an overlapped restart died. */
  | { readonly kind: 'starting'; readonly instance: I | undefined }
  | { readonly kind: 'not-ready'; readonly instance: I }
  | { readonly kind: 'running'; readonly instance: I; readonly since: number }
  | { readonly kind: 'stopping'; readonly instance: I }
  | { readonly kind: 'backoff' }
  /** `exit`: the exit of its last instance, after which its restart policy did not start it again. */
  | { readonly kind: 'done'; readonly exit: ExitInfo }
  /**
   * `reason`: why it failed. `keptFor`: a reload would have restarted it with its new config but
   * did not, as it requires a service that is stopped or failed (until it starts).
   */
  | { readonly kind: 'failed'; readonly reason: string; readonly keptFor?: KeptFor };

/** A failed unit's requirement that was down when a reload kept it failed (`ReloadResult.keptFailed`). */
export interface KeptFor {
  readonly requires: string;
  readonly state: RequirementState;
}

/** The status reason of a failed unit: why it failed, and first why a reload left it failed, if one did. */
export function describeFailure(reason: string, keptFor: KeptFor | undefined): string {
  if (!keptFor) return reason;
  return `kept failed by a reload: it requires ${keptFor.requires}, ${which(keptFor.state)} (its failure: ${reason})`;
}

/**
 * The status reason of an ended unit (`done`): its last exit, and that its restart policy
 * (`never`, or `on-failure` after a clean exit) does not start it again.
 */
export function describeEnd(exit: ExitInfo, restart: ServiceConfig['restart']): string {
  return `exited (${describeExit(exit)}); restart: ${restart} does not start it again`;
}

/**
 * The status reason a lifecycle state gives: why it is kept down, failed or ended (`restart`: the
 * unit's restart policy). Undefined for the others: the unit's own (why its last start failed).
 */
export function reasonOfState<I>(state: UnitState<I>, restart: ServiceConfig['restart']): string | undefined {
  if (state.kind === 'stopped') return state.cause && describeStopCause(state.cause);
  if (state.kind === 'failed') return describeFailure(state.reason, state.keptFor);
  if (state.kind === 'done') return describeEnd(state.exit, restart);
  return undefined;
}

export type UnitKind = UnitState<unknown>['kind'];

export type RestartState<I> =
  | { readonly kind: 'idle' }
  | { readonly kind: 'cold' }
  /** `fresh`: the new instance once spawned, until it is ready (a stop takes it away). */
  | { readonly kind: 'overlapping'; readonly old: I; readonly fresh: I | undefined }
  | { readonly kind: 'draining'; readonly old: I };

export type RestartKind = RestartState<unknown>['kind'];

const UNIT_MOVES: Readonly<Record<UnitKind, readonly UnitKind[]>> = {
  stopped: ['starting', 'stopping', 'stopped'],
  starting: ['starting', 'not-ready', 'running', 'backoff', 'done', 'failed', 'stopping', 'stopped'],
  'not-ready': ['backoff', 'done', 'failed', 'stopping', 'stopped'],
  running: ['running', 'starting', 'backoff', 'done', 'failed', 'stopping', 'stopped'],
  stopping: ['stopping', 'stopped'],
  backoff: ['starting', 'stopped', 'running'],
  done: ['starting', 'stopped', 'running'],
  failed: ['starting', 'running', 'failed'],
};

const RESTART_MOVES: Readonly<Record<RestartKind, readonly RestartKind[]>> = {
  idle: ['cold', 'overlapping'],
  cold: ['idle'],
  overlapping: ['overlapping', 'draining', 'idle'],
  draining: ['idle'],
};

/** A move the machine does not have. */
export class IllegalMoveError extends Error {
  override readonly name = 'IllegalMoveError';
  constructor(machine: string, from: string, to: string) {
    super(`${machine}: no move from ${from} to ${to}`);
  }
}

/** Throws unless the lifecycle may move `from` -> `to`; `name` (the service) goes into the message. */
export function checkUnitMove(name: string, from: UnitKind, to: UnitKind): void {
  if (!UNIT_MOVES[from].includes(to)) throw new IllegalMoveError(`service ${name}`, from, to);
}

/** Throws unless the restart machine may move `from` -> `to`. */
export function checkRestartMove(name: string, from: RestartKind, to: RestartKind): void {
  if (!RESTART_MOVES[from].includes(to)) throw new IllegalMoveError(`service ${name} restart`, from, to);
}

/** What `hearth status` shows of a lifecycle state. */
export function publicState(kind: UnitKind): ServiceState {
  if (kind === 'not-ready') return 'starting';
  if (kind === 'done') return 'stopped';
  return kind;
}

/** Whether the operator wants the unit up: not after a stop, nor while stopping. */
export function isWanted(kind: UnitKind): boolean {
  return kind !== 'stopped' && kind !== 'stopping';
}

/**
 * Whether its starts are over (`done`): it exited and its restart policy does not start it
 * again. Shown as `stopped` while still wanted; only a start takes it out.
 */
export function hasEnded(kind: UnitKind): boolean {
  return kind === 'done';
}

/** The instance a lifecycle state holds (the current one), if any. */
export function currentOf<I>(state: UnitState<I>): I | undefined {
  return 'instance' in state ? state.instance : undefined;
}

/**
 * Why a unit entered `next` from `from`, for its log (what `hearth logs NAME` tells of a crash or
 * a stop): `lastExit` is its last instance's exit, `restart` its restart policy.
 */
export function whyEntered<I>(from: UnitKind, next: UnitState<I>, lastExit: ExitInfo | undefined, restart: ServiceConfig['restart']): string | undefined {
  const exit = lastExit ? `${describeExit(lastExit)}${lastExit.leftovers ? ', the processes it left in its group killed' : ''}` : undefined;
  switch (next.kind) {
    case 'failed':
      return next.reason;
    case 'backoff':
      return exit;
    case 'done':
      return exit && `${exit}; restart: ${restart}`;
    case 'stopped':
      return from === 'stopping' ? exit : undefined;
    default:
      return undefined;
  }
}
