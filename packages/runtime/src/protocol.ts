/**
 * The IPC protocol between the supervisor and a Hearth service instance.
 *
 * The channel is Node's `ipc` stdio channel (fd 3 of the child). Every message is a plain JSON
 * object with a `t` (type) field. Listening sockets travel as the handle attached to a `listener`
 * message. The supervisor is the only router: services never talk to each other directly, they
 * address a message to a service by name (`to`) or publish it on a topic that other services
 * subscribed to.
 *
 * Lifecycle of an instance, as the supervisor sees it:
 *   spawn -> init -> listener* -> start -> (child) ready -> ... -> stop -> (child) exits 0
 * A warm standby (init with `standby: true`) answers `standing-by` once it holds every listener
 * and waits, without listening, for `start` (promotion) or `stop`:
 *   spawn -> init{standby} -> listener* -> (child) standing-by ... start -> (child) ready -> ...
 * A child whose channel closes (supervisor gone) stops at once and exits.
 */
import type { CounterDeclaration } from '@hearth/metrics';

/** A listener as declared in the config; the supervisor binds it, the service serves it. */
export interface ListenerSpec {
  /** The listener's name within its service (`mx`, `submission`, `pop3s`, ...). */
  readonly name: string;
  readonly protocol: 'tcp' | 'udp';
  readonly address: string;
  readonly port: number;
  /** Implicit TLS (SMTPS, POP3S, HTTPS): the service wraps every connection in TLS at once. */
  readonly tls: boolean;
  /**
   * IPv6 only (IPV6_V6ONLY) for an IPv6 wildcard (`::`): set by the supervisor when the same
   * port is also declared on an IPv4 address, so both can be bound, as nginx's `ipv6only=on`
   * does. Absent: an IPv6 socket is dual-stack (it also takes IPv4, as v4-mapped addresses).
   */
  readonly ipv6Only?: boolean;
}

/** Settings shared by the whole suite, passed to every Hearth service. */
export interface SuiteSettings {
  /** Absolute path of the data directory. */
  readonly dataDir: string;
  readonly mail: {
    /** Domains whose mail is local (delivered to Hearth users). */
    readonly domains: readonly string[];
  };
  readonly tls: {
    /** Certificate and key files; absent means the suite's self-signed pair in the data dir. */
    readonly cert?: string;
    readonly key?: string;
    /** Host names and IP addresses the self-signed pair names besides its own (`tls.names`). */
    readonly names?: readonly string[];
  };
}

/** Messages the supervisor sends to a service instance. */
export type SupervisorMessage =
  | {
      readonly t: 'init';
      /** The service's name in the config (`smtp`, or a user-chosen name). */
      readonly service: string;
      /** Which Hearth service this is (`smtp`, `pop3`, ...). */
      readonly kind: string;
      /** The service's own settings, already validated against its schema by the supervisor. */
      readonly settings: unknown;
      readonly suite: SuiteSettings;
      readonly logLevel: string;
      readonly listeners: readonly ListenerSpec[];
      /**
       * Warm standby (optional, absent means false): load,
       * check the settings, take the listener handles, answer `standing-by`, then wait for
       * `start` however long it takes (no start timeout). Never listens, opens no store and gets
       * no bus messages until started.
       */
      readonly standby?: boolean;
    }
  /** Carries one bound (not yet accepting) socket handle for listener `name`, endpoint `index`. */
  | { readonly t: 'listener'; readonly name: string; readonly index: number }
  /** Every listener has been handed over: start serving, then answer `ready`. */
  | { readonly t: 'start' }
  /** Apply these settings in place (TLS material, shares, limits); answer `reloaded`. */
  | { readonly t: 'reload'; readonly settings: unknown; readonly suite: SuiteSettings }
  /** Stop accepting, drain open sessions until the deadline (ms from now), then exit 0. */
  | { readonly t: 'stop'; readonly deadlineMs: number }
  /** A message routed from another service. */
  | { readonly t: 'msg'; readonly from: string; readonly topic: string; readonly payload: unknown };

/** Messages a service instance sends to the supervisor. */
export type ServiceMessage =
  /** Every listener is serving: dependents may start now. */
  | { readonly t: 'ready' }
  /**
   * A standby (init with `standby: true`) holds every listener handle and valid settings: it can
   * be promoted with `start` (added for the warm standby; a supervisor may ignore it).
   */
  | { readonly t: 'standing-by' }
  /** Start failed for a reason worth reporting (the instance exits right after). */
  | { readonly t: 'failed'; readonly error: string; readonly permanent: boolean }
  | { readonly t: 'reloaded'; readonly ok: boolean; readonly error?: string }
  /** Route `payload` to service `to`, or (without `to`) to every service subscribed to `topic`. */
  | { readonly t: 'msg'; readonly to?: string; readonly topic: string; readonly payload: unknown }
  /** From now on, route messages published on these topics to this service. */
  | { readonly t: 'subscribe'; readonly topics: readonly string[] }
  /**
   * Hand listener `name` again: the supervisor answers with a `listener` message carrying the
   * handle (a per-connection acceptor closes its own copy while at
   * `maxInstances`, so new connections wait in the kernel backlog, and asks again when a slot
   * frees). Ignored once the instance is stopping.
   */
  | { readonly t: 'listener-request'; readonly name: string }
  /**
   * The instance's counter values since it started, by the names its manifest declares: sent at
   * most once a second, only when they changed, and once more at stop (a supervisor may ignore
   * it). The supervisor adds up a service's instances so its counters never go back. The first
   * report of an instance carries the manifest's `declaration` (names, types, descriptions, ids),
   * so the supervisor shows counters without loading any service's code.
   */
  | { readonly t: 'counters'; readonly values: Readonly<Record<string, number>>; readonly declaration?: CounterDeclaration };

/** Exit code for a configuration error (sysexits EX_CONFIG): permanent, never restarted. */
export const EX_CONFIG = 78;
