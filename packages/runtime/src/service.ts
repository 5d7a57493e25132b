/**
 * What a Hearth service implements, and what the runtime gives it.
 *
 * A service's `main.ts` is three lines: build nothing itself, hand its definition to `runService`
 * (which speaks the supervisor's IPC protocol, or binds its own listeners when run alone with
 * `hearth run NAME`), and exit with the code it returns.
 */
import type { Server } from 'node:net';
import type { Socket as UdpSocket } from 'node:dgram';
import type { ZodType } from 'zod';
import type { Logger } from '@hearth/log';
import type { CounterDeclaration, CounterSource } from '@hearth/metrics';
import type { HandlerTable } from './handler-table.js';
import type { ListenerSpec, SuiteSettings } from './protocol.js';

/**
 * What the supervisor needs to know about a Hearth service without loading it: exported by the
 * service's `src/config.ts` (subpath `@hearth/<kind>/config`), which imports nothing heavy.
 */
export interface ServiceManifest<S> {
  /** Which Hearth service this is: `smtp`, `pop3`, `biff`, ... */
  readonly kind: string;
  /** The service's settings schema: strict, holding its own defaults (`{}` must parse). */
  readonly settings: ZodType<S>;
  /**
   * Default listeners (loopback, standard port + 2000), used when the config declares none. A
   * listener the config declares under one of these names takes its omitted address, protocol
   * and tls from it (`https: { port: 443 }` of the file service is TLS, `snmp: { port: 161 }` UDP).
   */
  readonly defaultListeners: readonly ListenerSpec[];
  /**
   * What every listener of the service must be: a listener of another protocol, or without TLS
   * where `tls` is `required`, is a config error naming it. Absent: any listener (a module's own).
   */
  readonly listenerRule?: ListenerRule;
  /** Services this one needs ready first in the embedded default (`pop3` needs `biff`, say). */
  readonly defaultRequires?: readonly string[];
  /**
   * The counters the service keeps and reports (`declareCounters` of `@hearth/metrics`): every
   * view (`hearth status`, SNMP) shows them from this one declaration. Absent: none.
   */
  readonly counters?: CounterDeclaration;
}

/** What a service can serve on (`ServiceManifest.listenerRule`). */
export interface ListenerRule {
  readonly protocol: 'tcp' | 'udp';
  /** `required`: served over TLS only (the admin page). UDP listeners never take tls. */
  readonly tls?: 'required';
}

export interface ServiceDefinition<S> extends ServiceManifest<S> {
  /** Open stores, attach to listeners, and resolve once serving. Throwing a `ServiceConfigError` exits 78. */
  start(ctx: ServiceContext<S>): Promise<RunningService<S>>;
}

export interface ServiceContext<S> {
  /** The service's name in the config. */
  readonly name: string;
  readonly settings: Readonly<S>;
  readonly suite: SuiteSettings;
  readonly log: Logger;
  /** The listeners declared for this service, by name. */
  readonly listeners: ReadonlyMap<string, ServiceListener>;
  /** Messages to and from other services, routed by the supervisor. */
  readonly bus: MessageBus;
  /**
   * The instance's handler table (optional; a context without one stays valid):
   * register each listener's handler (a share, a mount point) as an entry and hold a lease per
   * request. Replacing an entry (a reload) lets running requests finish on the old handler
   * while new ones see the new one. At stop the runtime drains it: every entry inactive, then
   * wait for the total count to reach zero, up to the deadline, alongside `RunningService.stop`.
   */
  readonly handlers?: HandlerTable<unknown>;
}

export interface RunningService<S> {
  /**
   * The instance's counters (a `CounterSet` over the manifest's `counters`): under the supervisor
   * the runtime reports them at most once a second, only when changed, and once more at stop.
   */
  readonly counters?: CounterSource;
  /** Apply new settings in place (TLS material, limits, shares). Throw to refuse them. */
  reload?(settings: Readonly<S>, suite: SuiteSettings): Promise<void>;
  /**
   * The drain signal, with its deadline (a `Date.now()` value): stop accepting new connections at
   * once, let every open session go on normally until its client ends it, give the ones still
   * open at `goodbyeAt(deadline)` the protocol's goodbye, and close what is left at the deadline
   * (`drainUntil`, drain.ts, runs that timeline). Resolves when nothing is left open.
   */
  stop(deadline: number): Promise<void>;
}

export interface ServiceListener {
  readonly spec: ListenerSpec;
  /**
   * Make `server` accept on this listener: on the bound handle the supervisor handed down, or,
   * when the service runs alone, on a socket bound here. Resolves once it is accepting.
   */
  listen(server: Server): Promise<void>;
  /** The same for a UDP listener. */
  bind(socket: UdpSocket): Promise<void>;
}

export interface MessageBus {
  /** Send to service `to` (by config name). Returns false when the message was dropped (queue full). */
  send(to: string, topic: string, payload: unknown): boolean;
  /** Send to every service subscribed to `topic`. */
  publish(topic: string, payload: unknown): boolean;
  /** Receive messages on `topic` (routed to this service by name or by subscription). */
  on(topic: string, handler: (payload: unknown, from: string) => void): void;
  /**
   * False while the channel is behind (it buffers what it was given, or holds as many unsent
   * messages as the bus allows): a producer with more to send waits for `drained()` instead of
   * sending into a queue that may drop.
   */
  readonly writable: boolean;
  /** Resolves once `writable` is true again (at once when it is, or when the channel closed). */
  drained(): Promise<void>;
}

/** Thrown by a service's `start` for a settings problem: the instance exits with EX_CONFIG (78). */
export class ServiceConfigError extends Error {
  override readonly name = 'ServiceConfigError';
}
