/**
 * Connection limits applied at accept, before a byte is read. On an implicit-TLS listener the
 * handshake counts against the limits like a session and has its own short deadline, and a
 * connection over a limit is closed without a word (nothing readable can be sent before TLS);
 * on a plain listener it is answered 421 once its session starts (`take` gives the verdict).
 * A counted connection is released when its socket closes, whatever stage it reached.
 */
import type { Server, Socket } from 'node:net';
import type { Admission, ConnectionLimiter } from './limits.js';

export interface AcceptOptions {
  readonly limiter: ConnectionLimiter;
  /** The listener speaks TLS from the first byte (SMTPS). */
  readonly implicitTls: boolean;
  /** How long the TLS handshake (and greeting delay) may take before the session starts, in ms. */
  handshakeTimeout(): number;
  /** Ends a connection whose handshake ran out of time (its TLS socket, not the one below it). */
  abort(socket: Socket): void;
  /** Told of each connection counted at accept, and of its release when it closes. */
  onAdmitted(): void;
  onReleased(): void;
  /** Told of each connection refused at accept. */
  onRefused(ip: string, limit: Exclude<Admission, 'ok'>): void;
}

export interface AcceptVerdicts {
  /** The verdict given at accept to the connection from `ip`:`port`; stops its handshake deadline. */
  take(ip: string, port: number): Admission | undefined;
  /**
   * The session of that connection closed: release it now (a socket upgraded by STARTTLS may
   * close without the plain socket under it emitting 'close'). Releasing twice is harmless.
   */
  done(ip: string, port: number): void;
}

interface Accepted {
  readonly ip: string;
  readonly admission: Admission;
  timer: NodeJS.Timeout | undefined;
  readonly release: () => void;
}

const plain = (ip: string): string => ip.replace(/^::ffff:/i, '').toLowerCase();

/** Puts the limits in front of every `connection` listener `server` has (smtp-server's own). */
export function admitAtAccept(server: Server, options: AcceptOptions): AcceptVerdicts {
  const byPort = new Map<number, Accepted[]>();
  const inner = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    socket.on('error', () => {});
    const ip = socket.remoteAddress ?? 'unknown';
    const port = socket.remotePort ?? 0;
    const admission = options.limiter.admit(ip);
    if (admission === 'ok') options.onAdmitted();
    else {
      options.onRefused(ip, admission);
      if (options.implicitTls) {
        socket.destroy();
        return;
      }
    }
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      clearTimeout(entry.timer);
      const left = (byPort.get(port) ?? []).filter((e) => e !== entry);
      if (left.length === 0) byPort.delete(port);
      else byPort.set(port, left);
      if (admission === 'ok') {
        options.limiter.release(ip);
        options.onReleased();
      }
    };
    const entry: Accepted = { ip: plain(ip), admission, timer: undefined, release };
    if (options.implicitTls) {
      entry.timer = setTimeout(() => options.abort(socket), options.handshakeTimeout());
      entry.timer.unref();
    }
    byPort.set(port, [...(byPort.get(port) ?? []), entry]);
    socket.once('close', release);
    for (const listener of inner) listener.call(server, socket);
  });
  const find = (ip: string, port: number): Accepted | undefined => (byPort.get(port) ?? []).find((e) => e.ip === plain(ip));
  return {
    done(ip, port) {
      find(ip, port)?.release();
    },
    take(ip, port) {
      // A sole connection from that port is it, however its address was written.
      const entries = byPort.get(port) ?? [];
      const entry = find(ip, port) ?? (entries.length === 1 ? entries[0] : undefined);
      if (entry === undefined) return undefined;
      clearTimeout(entry.timer);
      entry.timer = undefined;
      return entry.admission;
    },
  };
}
