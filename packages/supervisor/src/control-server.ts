/**
 * The control socket server: one request per connection, dispatched to the supervisor. A
 * request is one JSON line; a client that half-closes after it (`socat`, `nc -N`) still gets its
 * answer, the newline being optional then. A connection that sends no whole request within
 * `requestTimeoutMs` is closed.
 */
import { chmodSync, chownSync, unlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { MAX_REQUEST, parseRequest } from './control-protocol.js';
import type { ControlReply, ControlRequest } from './control-protocol.js';
import type { LogLine } from './log-capture.js';

/** What the control socket drives (the Supervisor). */
export interface ControlHandler {
  /** Answers a request; `stream` sends log lines for `logs --follow`, returning an unsubscribe. */
  handle(request: ControlRequest): Promise<unknown>;
  follow(name: string | undefined, onLine: (l: LogLine) => void): () => void;
}

/** How long a connection may take to send its request (default). */
export const REQUEST_TIMEOUT_MS = 10_000;

export interface ControlServerOptions {
  readonly requestTimeoutMs?: number;
  /** A gid: the socket is made 0660 and this group's (the config's `control.group`); else 0600. */
  readonly group?: number;
}

export class ControlServer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(
    server: Server,
    readonly path: string,
  ) {
    this.#server = server;
  }

  /** Listens on `path` with mode 0600. The caller made sure no live supervisor owns it. */
  static listen(path: string, handler: ControlHandler, options: ControlServerOptions = {}): Promise<ControlServer> {
    try {
      unlinkSync(path);
    } catch {
      // nothing stale there
    }
    // Half-open: a client's end of input must not end our side before the answer is written.
    const server = createServer({ allowHalfOpen: true });
    const control = new ControlServer(server, path);
    const timeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    server.on('connection', (socket) => control.#serve(socket, handler, timeout));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      // The umask makes the socket 0600 from its creation: no window where others may connect.
      const umask = process.umask(0o177);
      try {
        server.listen(path, () => {
          server.off('error', reject);
          try {
            if (options.group !== undefined) {
              chownSync(path, -1, options.group);
              chmodSync(path, 0o660);
            } else {
              chmodSync(path, 0o600);
            }
          } catch (err) {
            server.close();
            reject(err);
            return;
          }
          resolve(control);
        });
      } finally {
        process.umask(umask);
      }
    });
  }

  #serve(socket: Socket, handler: ControlHandler, timeoutMs: number): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => {});
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => socket.destroy());
    let buffer = '';
    const send = (reply: ControlReply): void => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(reply)}\n`);
    };
    const onEnd = (): void => {
      // Half-closed: what came is the whole request, newline or not.
      if (buffer.trim() === '') socket.end();
      else onData('\n');
    };
    const onData = (chunk: string): void => {
      buffer += chunk;
      const nl = buffer.indexOf('\n');
      if (nl === -1) {
        if (buffer.length > MAX_REQUEST) {
          socket.off('end', onEnd);
          send({ done: true, ok: false, error: 'request too long' });
          socket.end();
        }
        return;
      }
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.setTimeout(0);
      let parsed: unknown;
      try {
        parsed = JSON.parse(buffer.slice(0, nl));
      } catch {
        send({ done: true, ok: false, error: 'request is not JSON' });
        socket.end();
        return;
      }
      const request = parseRequest(parsed);
      if (typeof request === 'string') {
        send({ done: true, ok: false, error: request });
        socket.end();
        return;
      }
      void this.#answer(socket, request, handler, send);
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
  }

  async #answer(socket: Socket, request: ControlRequest, handler: ControlHandler, send: (r: ControlReply) => void): Promise<void> {
    try {
      const result = await handler.handle(request);
      if (request.verb === 'logs') {
        for (const l of result as LogLine[]) send({ log: l });
        if (request.follow) {
          // Slow followers are dropped rather than buffered without bound.
          const stop = handler.follow(request.name, (l) => {
            if (socket.writableLength > 1024 * 1024) socket.destroy();
            else send({ log: l });
          });
          socket.on('close', stop);
          return;
        }
        send({ done: true, ok: true });
      } else {
        send({ done: true, ok: true, result });
      }
      socket.end();
    } catch (err) {
      send({ done: true, ok: false, error: (err as Error).message });
      socket.end();
    }
  }

  /** Stops listening, ends every connection (followers included), removes the socket file. */
  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      try {
        unlinkSync(this.path);
      } catch {
        // gone already
      }
    });
  }
}
