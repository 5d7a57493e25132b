/**
 * The POP3 server: accepts sockets from any listener (`handle`), applies connection limits,
 * wraps implicit-TLS connections, runs one Pop3Session per connection, and drains on `stop`.
 * Usable directly in tests, without a supervisor.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { hostname } from 'node:os';
import type { SecureContext } from 'node:tls';
import { LoginPolicy, mailDomainSet } from '@hearth/accounts';
import { startTls } from '@hearth/line-protocol';
import type { Logger } from '@hearth/log';
import { CounterSet } from '@hearth/metrics';
import { drainUntil, whenEmpty, type MessageBus } from '@hearth/runtime';
import type { Pop3Settings } from './config.js';
import { counters } from './counters.js';
import { BufferPool } from './body-writer.js';
import { Counter } from './limits.js';
import { loginLimits } from './login.js';
import type { MailBacking } from './maildrop.js';
import { PushHub } from './push.js';
import { replies } from './replies.js';
import { Pop3Session } from './session.js';

export interface Pop3ServerDeps {
  readonly backing: MailBacking;
  /** The current TLS material, or undefined when none is available (no STLS, no POP3S). */
  readonly tls: () => SecureContext | undefined;
  readonly settings: Pop3Settings;
  readonly log: Logger;
  /** Whether a client address counts as loopback (plaintext login allowed). Injectable for tests. */
  readonly isLoopback?: (address: string) => boolean;
  /**
   * The runtime's bus (biff subscriptions, `mail.notify` in, `mail.delivered` out). Without it,
   * waiting sessions still see this server's own XSEND deliveries.
   */
  readonly bus?: MessageBus;
  /** Local mail domains for XSEND recipients; the first is the sender's domain. Default: localhost. */
  readonly domains?: readonly string[];
  /** The pid biff counts subscriptions under (default: this process). */
  readonly instance?: number;
  /**
   * The failed-login policy, its limits set from `settings` (the service passes the accounts'
   * persistent one). Default: one whose counts live in this process's memory.
   */
  readonly loginPolicy?: LoginPolicy;
}

export interface HandleOptions {
  /** The listener is an implicit-TLS port (POP3S): handshake before the greeting. */
  readonly implicitTls: boolean;
}

export interface Pop3Server {
  handle(socket: Socket, options: HandleOptions): void;
  /** Apply new settings to new sessions (TLS material is read per connection anyway). */
  updateSettings(settings: Pop3Settings): void;
  /**
   * Drain (the runtime's rule, `drainUntil`): take no new connection; every open session, logged
   * in or not, goes on until its client ends it; shortly before `deadline` the ones still open get
   * `-ERR [SYS/TEMP]` between commands; at `deadline` the rest are cut (nothing deleted).
   */
  stop(deadline: number): Promise<void>;
  /** Open connections (for status and tests). */
  readonly connections: number;
  /** New-mail notifications: users with a waiting session, and a way to wake them. */
  readonly hub: PushHub;
  /** The failed-login policy in use (its `stats()` counts refusals and delays). */
  readonly loginPolicy: LoginPolicy;
  /** The server's counters (`counters.ts`). */
  readonly counters: CounterSet<typeof counters>;
}

export function isLoopbackAddress(address: string): boolean {
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  return plain === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(plain);
}

export function createPop3Server(deps: Pop3ServerDeps): Pop3Server {
  let settings = deps.settings;
  const isLoopback = deps.isLoopback ?? isLoopbackAddress;
  const host = settings.hostname ?? sanitizeHost(hostname());
  const sessions = new Set<Pop3Session>();
  const sockets = new Set<Socket>();
  const perIp = new Counter();
  const userSessions = new Counter();
  const loginPolicy = deps.loginPolicy ?? new LoginPolicy(loginLimits(settings));
  loginPolicy.setLimits(loginLimits(settings));
  /** Serving; draining (sessions go on); or past the goodbye time (sessions end between commands). */
  let drain: { kind: 'serving' } | { kind: 'draining' } | { kind: 'goodbye' } = { kind: 'serving' };
  let onReleased = (): void => {};
  let nextId = 1;
  const live = new CounterSet(counters);
  const buffers = new BufferPool();
  const hub = new PushHub(deps.bus, deps.log, deps.instance, live);
  hub.start();
  const domains = deps.domains !== undefined && deps.domains.length > 0 ? deps.domains : ['localhost'];
  const localDomains = mailDomainSet(domains);

  // On an implicit-TLS port nothing readable can precede the handshake: a refusal there closes
  // without a byte (a clear-text line would reach the client as a TLS error).
  const refuse = (socket: Socket, options: HandleOptions, text: string): void => {
    socket.on('error', () => {});
    if (options.implicitTls) {
      socket.destroy();
      return;
    }
    socket.end(`${text}\r\n`);
    setTimeout(() => socket.destroy(), 1000).unref();
  };

  async function begin(
    socket: Socket,
    options: HandleOptions,
    log: Logger,
    remoteAddress: string,
    release: () => void,
  ): Promise<void> {
    let conn = socket;
    if (options.implicitTls) {
      const secureContext = deps.tls();
      if (secureContext === undefined) {
        log.error('implicit-TLS connection but no TLS material');
        socket.destroy();
        return;
      }
      try {
        conn = await startTls(socket, { secureContext, handshakeTimeoutMs: settings.tlsHandshakeTimeout });
      } catch (error) {
        log.info({ err: error }, 'TLS handshake failed');
        release();
        return;
      }
      conn.once('close', release);
    }
    const session = new Pop3Session(
      {
        settings,
        backing: deps.backing,
        log,
        secureContext: deps.tls,
        userSessions,
        loginPolicy,
        goodbyeDue: () => drain.kind === 'goodbye',
        hub,
        domains,
        localDomains,
        hostname: host,
        buffers,
        counters: live,
      },
      {
        socket: conn,
        secure: options.implicitTls,
        remoteAddress,
        loopback: isLoopback(remoteAddress),
        timestamp: `<${process.pid}.${randomBytes(8).toString('hex')}.${Date.now()}@${host}>`,
      },
      log,
    );
    sessions.add(session);
    void session.closed.then(() => {
      sessions.delete(session);
      // A TLS socket wrapping this one may close without the plain socket emitting 'close'.
      release();
    });
    session.start();
    // A TLS handshake that ended after the goodbye time: greeted, then told at once.
    if (drain.kind === 'goodbye') session.goodbye();
  }

  return {
    get connections() {
      return sockets.size;
    },
    hub,
    loginPolicy,
    counters: live,

    handle(socket, options) {
      const remoteAddress = socket.remoteAddress ?? 'unknown';
      live.inc('connectionsTotal');
      if (drain.kind !== 'serving') {
        live.inc('connectionsRefused');
        return refuse(socket, options, replies.shuttingDownLine());
      }
      if (sockets.size >= settings.maxConnections) {
        live.inc('connectionsRefused');
        deps.log.warn({ remote: remoteAddress }, 'connection refused: too many connections');
        return refuse(socket, options, replies.tooManyConnections());
      }
      if (perIp.get(remoteAddress) >= settings.maxConnectionsPerIp) {
        live.inc('connectionsRefused');
        deps.log.warn({ remote: remoteAddress }, 'connection refused: too many connections from this address');
        return refuse(socket, options, replies.tooManyConnectionsFromIp());
      }
      sockets.add(socket);
      perIp.add(remoteAddress);
      live.add('connectionsOpen', 1);
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        sockets.delete(socket);
        perIp.remove(remoteAddress);
        live.add('connectionsOpen', -1);
        onReleased();
      };
      socket.on('error', () => {});
      socket.once('close', release);
      const log = deps.log.child({ cid: nextId++, remote: remoteAddress });
      log.debug({ tls: options.implicitTls }, 'connection');
      begin(socket, options, log, remoteAddress, release).catch((error: unknown) => {
        log.error({ err: error }, 'session start failed');
        socket.destroy();
        release();
      });
    },

    updateSettings(next) {
      settings = next;
      loginPolicy.setLimits(loginLimits(next));
    },

    async stop(deadline) {
      drain = { kind: 'draining' };
      const open = whenEmpty(() => sockets.size);
      onReleased = open.changed;
      await drainUntil(deadline, {
        idle: open.empty,
        goodbye: () => {
          drain = { kind: 'goodbye' };
          for (const session of sessions) session.goodbye();
        },
        destroy: () => {
          for (const session of sessions) session.abort();
          for (const socket of sockets) socket.destroy();
        },
      });
      await Promise.all([...sessions].map((s) => s.closed));
      hub.stop();
    },
  };
}

/** The greeting's host part: letters, digits, dots and hyphens only (APOP clients are picky). */
function sanitizeHost(name: string): string {
  const clean = name.replace(/[^A-Za-z0-9.-]/g, '');
  return clean === '' ? 'localhost' : clean;
}
