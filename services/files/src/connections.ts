/**
 * The file server's connections: keep-alive between requests, and the drain.
 *
 * Between requests a connection stays open for its client's next one (keep-alive). Responses
 * that keep it say so with `Keep-Alive: timeout=N` (`keepAliveTimeout` in seconds, `replies.ts`),
 * and a connection is closed once it has been idle, no response in progress and no byte read,
 * for that long plus a second (`KEEPALIVE_MARGIN_MS`, as Node's own timer gives): a sweep over the
 * connections once a second (`SWEEP_INTERVAL_MS`) finds them, as Apache's event MPM expires its
 * keep-alive queue, instead of Node's timer armed again as each response ends (a timer object
 * and a bound function per response: about 2% of a small GET's time, bench/files). Idle time
 * counts from the end of the last response or, when a sweep sees bytes read since it last looked,
 * from that sweep: a connection goes no sooner than its client's hint allows, and at most two
 * sweeps after the margin has passed. A request's own idle timeout (`idleTimeout`, set as it
 * begins) runs only while a response is in progress on its connection: it is cleared when the
 * last one ends.
 *
 * The drain follows the runtime's rule (`drainUntil`). At the drain signal the server stops
 * accepting (the listening socket is shared with the instance that replaces this one, which takes
 * every new connection from then on) and:
 * - a keep-alive connection with no request in progress is closed: its client opens its next
 *   request on a new connection, which the new instance accepts. One that has been idle for
 *   `KEEPALIVE_LINGER_MS` is closed at once; one whose response has just ended is closed when it
 *   has been idle that long, unless the request its client was already sending arrives first
 *   (then that request is answered with `Connection: close`): a busy client sends its next
 *   request within a moment of the last answer, and closing under it is the one failure HTTP
 *   makes the client retry;
 * - a response not yet started says `Connection: close`, and a connection whose response was
 *   already under way (a long download) is closed once that response has been written;
 * - a connection accepted just before the signal, on which no request has arrived yet, is given a
 *   moment for its first request (`FRESH_GRACE_MS`), which is answered with `Connection: close`;
 *   only then, or at the goodbye, are connections still idle closed; at the deadline, the rest.
 * Requests on connections this instance accepted are answered whatever the state: a client never
 * sees a connection cut under a request it sent.
 */
import type { Server } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { drainUntil, whenEmpty } from '@hearth/runtime';
import { SocketSlot } from './socket-slot.js';

/** How long a connection that has not sent its first request yet is kept open after the drain signal. */
export const FRESH_GRACE_MS = 1000;

/** How long a keep-alive connection must have been idle to be closed at the drain (see above). */
export const KEEPALIVE_LINGER_MS = 250;

/** How often idle connections are looked for. */
export const SWEEP_INTERVAL_MS = 1000;

/** Added to the advertised keep-alive time before an idle connection is closed. */
export const KEEPALIVE_MARGIN_MS = 1000;

interface Connection {
  /** Responses in progress on it. */
  readonly responses: Set<ServerResponse>;
  /** Requests it has carried. */
  served: number;
  /** When its last response ended. */
  idleSince: number;
  /** Bytes read on it when the keep-alive sweep last looked, and when that count last changed. */
  readSeen: number;
  readSeenAt: number;
}

type State = { readonly kind: 'serving' } | { readonly kind: 'draining'; readonly changed: () => void };

export class Connections {
  readonly #servers: Server[] = [];
  /** Every accepted socket (TCP; under TLS, the socket below it), until it closes. */
  readonly #sockets = new Set<Socket>();
  /** Connections that have carried a request, by the socket requests come on. */
  readonly #connections = new Map<Socket, Connection>();
  /** The same, on each socket (found without the map's lookup: `socket-slot.ts`). */
  readonly #connection = new SocketSlot<Connection>('connection');
  #inFlight = 0;
  #state: State = { kind: 'serving' };
  #keepAliveMs: number;
  #sweep: NodeJS.Timeout | undefined;

  /**
   * `keepAliveMs`: how long an idle connection is kept (the advertised time, see above);
   * `closed`: called with a connection's request socket as it closes.
   */
  constructor(keepAliveMs: number, private readonly closed: (socket: Socket) => void = () => {}) {
    this.#keepAliveMs = keepAliveMs;
  }

  /** A new keep-alive time (new settings): for every connection, from the next sweep on. */
  set keepAliveMs(ms: number) {
    this.#keepAliveMs = ms;
  }

  get draining(): boolean {
    return this.#state.kind === 'draining';
  }

  track(server: Server): void {
    this.#servers.push(server);
    if (this.#sweep === undefined) {
      this.#sweep = setInterval(() => this.#closeExpired(Date.now()), SWEEP_INTERVAL_MS);
      this.#sweep.unref();
    }
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => {
        this.#sockets.delete(socket);
        this.#changed();
      });
    });
  }

  /** A socket requests will come on was accepted: its bookkeeping's slot is made now (see `settle` in `server.ts`). */
  accepted(socket: Socket): void {
    this.#connection.reserve(socket);
  }

  /** A request began; the function returned is called once when its response is done or abandoned. */
  begin(req: IncomingMessage, res: ServerResponse): () => void {
    const socket = req.socket;
    const conn = this.#connectionOf(socket);
    conn.responses.add(res);
    conn.served++;
    this.#inFlight++;
    if (this.draining) res.shouldKeepAlive = false;
    return () => {
      conn.responses.delete(res);
      if (conn.responses.size === 0) {
        conn.idleSince = Date.now();
        // Between requests the keep-alive time applies, not the request's idle timeout.
        socket.setTimeout(0);
      }
      this.#inFlight--;
      // A response that began before the drain went out with keep-alive: end the connection now.
      if (this.draining && conn.responses.size === 0 && !socket.destroyed) socket.end();
      this.#changed();
    };
  }

  /**
   * A request answered whole the moment it arrived, outside a drain, its response already written
   * out (`cached-get.ts`): it only counts for its connection, idle from `now` (the `Date.now()`
   * read as the request was answered). (One still waiting for the socket is followed with `begin`.)
   */
  answered(socket: Socket, now: number): void {
    const conn = this.#connectionOf(socket);
    conn.served++;
    if (conn.responses.size === 0) conn.idleSince = now;
  }

  /** The sockets requests came on (under TLS, the TLS sockets), of connections still open. */
  requestSockets(): IterableIterator<Socket> {
    return this.#connections.keys();
  }

  #connectionOf(socket: Socket): Connection {
    let conn = this.#connection.get(socket);
    if (conn === undefined) {
      const created: Connection = { responses: new Set(), served: 0, idleSince: 0, readSeen: 0, readSeenAt: 0 };
      this.#connections.set(socket, created);
      this.#connection.set(socket, created);
      socket.once('close', () => {
        this.#connections.delete(socket);
        this.#connection.delete(socket);
        this.closed(socket);
      });
      conn = created;
    }
    return conn;
  }

  /** The keep-alive sweep (see the top of the file). */
  #closeExpired(now: number): void {
    const limit = this.#keepAliveMs + KEEPALIVE_MARGIN_MS;
    for (const [socket, conn] of this.#connections) {
      if (conn.responses.size > 0) continue;
      const read = socket.bytesRead;
      if (read !== conn.readSeen) {
        // A request came (or is coming) since the last look: idle from now at the earliest.
        conn.readSeen = read;
        conn.readSeenAt = now;
        continue;
      }
      if (now - Math.max(conn.idleSince, conn.readSeenAt) >= limit) socket.destroy();
    }
  }

  #changed(): void {
    if (this.#state.kind === 'draining') this.#state.changed();
  }

  #closeIdle(): void {
    for (const s of this.#servers) s.closeIdleConnections();
  }

  /** Drain until nothing is open or `deadline` (a `Date.now()` value). */
  async stop(deadline: number): Promise<void> {
    const open = whenEmpty(() => this.#sockets.size + this.#inFlight);
    this.#state = { kind: 'draining', changed: open.changed };
    // The net close, not http's: http's also closes connections that have not sent their first
    // request yet, and a client that connected a moment ago would see its request cut.
    for (const s of this.#servers) NetServer.prototype.close.call(s);
    const lingering: NodeJS.Timeout[] = [];
    for (const [socket, conn] of this.#connections) {
      for (const res of conn.responses) if (!res.headersSent) res.shouldKeepAlive = false;
      if (conn.responses.size > 0) continue;
      const wait = conn.idleSince + KEEPALIVE_LINGER_MS - Date.now();
      if (wait <= 0) {
        socket.destroy();
        continue;
      }
      // Closed if no request came meanwhile (one that came is answered and closes the connection).
      const served = conn.served;
      lingering.push(setTimeout(() => conn.served === served && socket.destroy(), wait).unref());
    }
    const fresh = setTimeout(() => this.#closeIdle(), Math.min(FRESH_GRACE_MS, Math.max(0, deadline - Date.now()))).unref();
    try {
      await drainUntil(deadline, {
        idle: open.empty,
        goodbye: () => this.#closeIdle(),
        destroy: () => {
          for (const s of this.#servers) s.closeAllConnections();
          for (const socket of this.#sockets) socket.destroy();
        },
      });
    } finally {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
      clearTimeout(fresh);
      for (const t of lingering) clearTimeout(t);
      for (const s of this.#servers) s.close();
    }
  }
}
