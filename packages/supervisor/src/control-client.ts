/** The client side of the control socket, used by the `hearth` verbs. */
import { connect } from 'node:net';
import type { ControlReply, ControlRequest } from './control-protocol.js';

/** No supervisor answers on the socket. */
export class NotRunningError extends Error {
  override readonly name = 'NotRunningError';
}

/** The supervisor answered with an error. */
export class ControlError extends Error {
  override readonly name = 'ControlError';
}

export interface RequestOptions {
  /** Called for each streamed log line (`logs`). */
  readonly onLog?: (svc: string, line: string) => void;
  /** Aborting ends a follow stream (resolves normally). */
  readonly signal?: AbortSignal;
  /** Fail when nothing answered in time (default: no timeout). */
  readonly timeoutMs?: number;
}

/** Sends one request; resolves with the result. */
export function controlRequest(socketPath: string, request: ControlRequest, options: RequestOptions = {}): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let buffer = '';
    let settled = false;
    let streamed = false;
    const finish = (err: Error | undefined, result?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve(result);
    };
    const onAbort = (): void => finish(undefined, undefined);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = options.timeoutMs ? setTimeout(() => finish(new Error(`no answer from the supervisor within ${options.timeoutMs} ms`)), options.timeoutMs) : undefined;
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        let reply: ControlReply;
        try {
          reply = JSON.parse(line) as ControlReply;
        } catch {
          finish(new Error('the supervisor sent an unreadable answer'));
          return;
        }
        if ('log' in reply) {
          streamed = true;
          options.onLog?.(reply.log.svc, reply.log.line);
        }
        else if (reply.ok) finish(undefined, reply.result);
        else finish(new ControlError(reply.error));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'ENOTSOCK') {
        finish(new NotRunningError(`no supervisor is running (no answer on ${socketPath})`));
      } else if (err.code === 'EACCES') {
        finish(new Error(`${socketPath}: permission denied (the control socket is for the user hearth up runs as, and the group of its control.group)`));
      } else {
        finish(new Error(`${socketPath}: ${err.message}`));
      }
    });
    // A follow (`logs -f`) ends this way when the supervisor shuts down.
    socket.on('close', () => finish(new Error(streamed ? 'the supervisor stopped' : 'the supervisor closed the connection without an answer')));
  });
}

/** True if something answers on the socket. */
export function socketIsLive(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
