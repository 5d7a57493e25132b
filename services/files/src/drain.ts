/**
 * The file server's connections and its drain, by the runtime's rule (`drainUntil`). At the drain
 * signal the server stops accepting (the listening socket is shared with the instance that
 * replaces this one, which takes every new connection from then on) and:
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

/** How long a connection that has not sent its first request yet is kept open after the drain signal. */
export const FRESH_GRACE_MS = 1000;

/** How long a keep-alive connection must have been idle to be closed at the drain (see above). */
export const KEEPALIVE_LINGER_MS = 250;

interface Connection {
  /** Responses in progress on it. */
  readonly responses: Set<ServerResponse>;
  /** Requests it has carried. */
  served: number;
  /** When its last response ended. */
  idleSince: number;
}

type State = { readonly kind: 'serving' } | { readonly kind: 'draining'; readonly changed: () => void };

export class ConnectionDrain {
  readonly #servers: Server[] = [];
  /** Every accepted socket (TCP; under TLS, the socket below it), until it closes. */
  readonly #sockets = new Set<Socket>();
  /** Connections that have carried a request, by the socket requests come on. */
  readonly #connections = new Map<Socket, Connection>();
  #inFlight = 0;
  #state: State = { kind: 'serving' };

  /** `closed`: called with a connection's request socket as it closes. */
  constructor(private readonly closed: (socket: Socket) => void = () => {}) {}

  get draining(): boolean {
    return this.#state.kind === 'draining';
  }

  track(server: Server): void {
    this.#servers.push(server);
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => {
        this.#sockets.delete(socket);
        this.#changed();
      });
    });
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
      if (conn.responses.size === 0) conn.idleSince = Date.now();
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
    let conn = this.#connections.get(socket);
    if (conn === undefined) {
      const created: Connection = { responses: new Set(), served: 0, idleSince: 0 };
      this.#connections.set(socket, created);
      socket.once('close', () => {
        this.#connections.delete(socket);
        this.closed(socket);
      });
      conn = created;
    }
    return conn;
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
      clearTimeout(fresh);
      for (const t of lingering) clearTimeout(t);
      for (const s of this.#servers) s.close();
    }
  }
}
