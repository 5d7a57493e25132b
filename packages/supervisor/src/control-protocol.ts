/**
 * The control socket's protocol (`DATA/hearth.sock`, mode 0600): one request per connection, a
 * JSON line; answers are JSON lines, the last one with `done: true`. `logs` with `follow` streams
 * `{log}` lines until the client closes the connection.
 */
import type { ServiceState, ServiceStatus } from './status.js';

export type ControlRequest =
  | { readonly verb: 'status' }
  | { readonly verb: 'start' | 'stop' | 'restart'; readonly name: string }
  /** A service's validated settings (defaults applied) and the config file they came from: a `SettingsResult`. */
  | { readonly verb: 'settings'; readonly name: string }
  | { readonly verb: 'logs'; readonly name?: string; readonly lines?: number; readonly follow?: boolean }
  | { readonly verb: 'down' }
  /** Re-read the config and apply the difference; the result is a ReloadResult. */
  | { readonly verb: 'reload' }
  /** Replace every running service one by one (dependency order); the result is a RestartAllResult. */
  | { readonly verb: 'restart-all' }
  /** The config file the supervisor runs (a reload reads it again): a `ConfigResult`. */
  | { readonly verb: 'config' };

export type ControlVerb = ControlRequest['verb'];

/**
 * A requirement's state as a reason or a reload's answer names it: the state status shows, or
 * `exited` when its starts are over (it exited and its restart policy does not start it again,
 * shown as `stopped`).
 */
export type RequirementState = ServiceState | 'exited';

/** How a reason names the state of a requirement: `which is failed`, `which exited`. */
export function which(state: RequirementState): string {
  return state === 'exited' ? 'which exited' : `which is ${state}`;
}

export const CONTROL_VERBS: readonly ControlVerb[] = ['status', 'start', 'stop', 'restart', 'settings', 'logs', 'down', 'reload', 'restart-all', 'config'];

export type ControlReply =
  | { readonly done: true; readonly ok: true; readonly result?: unknown }
  | { readonly done: true; readonly ok: false; readonly error: string }
  | { readonly done?: false; readonly log: { readonly svc: string; readonly line: string } };

/** One row per service, in start order (each after what it requires). */
export type StatusResult = readonly ServiceStatus[];

/** A service `stop` stopped before the one named, because it requires it: `requires`, directly or through others. */
export interface StoppedWith {
  /** Its own requirement on the way to the service named (that one itself, or one that requires it). */
  readonly requires: string;
  /** Its status once stopped. */
  readonly status: ServiceStatus;
}

/** A service `start` or `restart` started before the one named, because it requires it. */
export interface StartedWith {
  /** The service that requires it: the one named, or one it requires on the way. */
  readonly requiredBy: string;
  /** Its status once started (running). */
  readonly status: ServiceStatus;
}

/**
 * What `start`, `stop` and `restart` answer: the service's status, and what that left of the
 * services that require it, or what it requires. The lists are absent from the answers of older
 * supervisors.
 */
export interface ServiceResult extends ServiceStatus {
  /** `stop`: the services stopped first because they require it, in the order they stopped. */
  readonly stoppedWith?: readonly StoppedWith[];
  /** `start`, `restart`: the services it requires that were started first, in the order they started. */
  readonly startedWith?: readonly StartedWith[];
  /**
   * `start`, `restart`: the services held back (at `hearth up`, or when a reload added them) for
   * it or for one it started first, that it then started and that run (start order).
   */
  readonly startedHeldBack?: readonly string[];
  /** `start`, `restart`: those held back services it started that did not come up, each with why. */
  readonly heldBackFailed?: ReadonlyArray<{ readonly name: string; readonly error: string }>;
  /** `start`, `restart`: the services that require it, directly or not, and are still stopped (start order). */
  readonly stillStopped?: readonly string[];
}

/** What a reload did, service by service. */
export interface ReloadResult {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly restarted: readonly string[];
  /** Settings applied in place (a `reload` message the service accepted). */
  readonly reloaded: readonly string[];
  readonly unchanged: readonly string[];
  /**
   * Changed services that are stopped (on request, with a requirement, or held back at start):
   * the new config is theirs at their next start, and they stay stopped, their reason kept.
   * Absent from the answers of older supervisors.
   */
  readonly updatedStopped?: readonly string[];
  /**
   * Running services whose new config requires a service that is stopped: not restarted with it
   * but stopped (their status reason names the requirement), the new config theirs at their
   * next start; and the services up that require them, stopped with them. `requires`: the
   * requirement down, `state` its state (`exited`: its starts are over). Absent from the
   * answers of older supervisors.
   */
  readonly stoppedForRequirement?: ReadonlyArray<{ readonly name: string; readonly requires: string; readonly state: RequirementState }>;
  /**
   * Failed services that their change would have restarted (as a failed one is), but whose new
   * config requires a service that is stopped (or stopped by this reload) or failed (or did not
   * come up when this reload restarted it): not restarted without it, they stay failed, their
   * status reason saying so, then why they failed, the new config theirs at their next start
   * (`hearth start` starts the requirement first). `requires`: the requirement down, `state`
   * its state (`exited`: its starts are over). Absent from the answers of older supervisors.
   */
  readonly keptFailed?: ReadonlyArray<{ readonly name: string; readonly requires: string; readonly state: RequirementState }>;
  /**
   * Services held back because a service they require was not running (at `hearth up`, or
   * when a reload added them), started because this reload brought it up. Absent from the
   * answers of older supervisors.
   */
  readonly startedHeldBack?: readonly string[];
  /**
   * Services whose settings alone changed while they were in backoff or exited (`restart: never`
   * or `on-failure`), or starting and their start (which the reload waits for) did not come up:
   * their next start runs them. Absent from the answers of older supervisors.
   */
  readonly updatedNextStart?: readonly string[];
  /**
   * Services whose change could not be applied (each keeps running as it was), or that did not
   * come up with it (an added one, one restarted stop-then-start, or one held back and started).
   */
  readonly failed: ReadonlyArray<{ readonly name: string; readonly error: string }>;
}

/** What `restart --all` did. */
export interface RestartAllResult {
  readonly restarted: readonly string[];
  readonly failed: ReadonlyArray<{ readonly name: string; readonly error: string }>;
}

export interface SettingsResult {
  /** The config file `hearth up` runs (null for the embedded default). */
  readonly file: string | null;
  /** The service's kind (null for a command). */
  readonly kind: string | null;
  /** Its settings as validated, defaults applied (null for a command). */
  readonly settings: unknown;
}

/** What `config` answers. */
export interface ConfigResult {
  /** The config file `hearth up` was given, absolute (null: it runs the embedded default). */
  readonly file: string | null;
}

/** Longest request line accepted. */
export const MAX_REQUEST = 64 * 1024;

export const SOCKET_NAME = 'hearth.sock';
export const LOCK_NAME = 'hearth.lock';

/** Checks a parsed request line; returns a one-line problem or the request. */
export function parseRequest(value: unknown): ControlRequest | string {
  if (value === null || typeof value !== 'object') return 'request is not an object';
  const r = value as Record<string, unknown>;
  const verb = r['verb'];
  if (typeof verb !== 'string' || !(CONTROL_VERBS as readonly string[]).includes(verb)) return `unknown verb ${JSON.stringify(verb)}`;
  if (verb === 'start' || verb === 'stop' || verb === 'restart' || verb === 'settings') {
    if (typeof r['name'] !== 'string' || r['name'] === '') return `${verb}: a service name is required`;
    return { verb, name: r['name'] };
  }
  if (verb === 'logs') {
    const name = r['name'];
    const lines = r['lines'];
    if (name !== undefined && typeof name !== 'string') return 'logs: name must be a string';
    if (lines !== undefined && (typeof lines !== 'number' || !Number.isInteger(lines) || lines < 0)) return 'logs: lines must be a non-negative integer';
    return {
      verb,
      ...(typeof name === 'string' ? { name } : {}),
      ...(typeof lines === 'number' ? { lines } : {}),
      follow: r['follow'] === true,
    };
  }
  if (verb === 'config') {
    // The suite has one config: a field here (a service's name) would ask for what it cannot give.
    const extra = Object.keys(r).find((k) => k !== 'verb');
    if (extra !== undefined) return `config: takes no ${JSON.stringify(extra)} (the suite has one config file)`;
    return { verb };
  }
  return { verb } as ControlRequest;
}
