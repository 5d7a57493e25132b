/**
 * TLS on a live connection: STLS/STARTTLS upgrades and implicit-TLS ports alike.
 *
 * Before calling, stop reading the plain socket (LineReader.stop): whatever the client pipelined
 * after the upgrade command is dropped, as RFC 2595 and RFC 3207 require, because the TLS socket
 * takes over the underlying handle and never sees the plain socket's buffered bytes.
 */
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Socket } from 'node:net';

export interface StartTlsOptions {
  readonly secureContext: SecureContext;
  /** Give up on a handshake that takes longer than this (ms). */
  readonly handshakeTimeoutMs: number;
}

export class TlsHandshakeError extends Error {
  override readonly name = 'TlsHandshakeError';
}

/**
 * Wrap `socket` as the server side of a TLS session and resolve once the handshake is done.
 * On failure or timeout the sockets are destroyed and the promise rejects.
 */
export function startTls(socket: Socket, options: StartTlsOptions): Promise<TLSSocket> {
  const secure = new TLSSocket(socket, { isServer: true, secureContext: options.secureContext });
  return new Promise((resolve, reject) => {
    const fail = (reason: string, cause?: unknown): void => {
      cleanup();
      secure.destroy();
      socket.destroy();
      reject(new TlsHandshakeError(reason, cause === undefined ? undefined : { cause }));
    };
    const onSecure = (): void => {
      cleanup();
      resolve(secure);
    };
    const onError = (error: unknown): void => fail('TLS handshake failed', error);
    const onClose = (): void => fail('connection closed during the TLS handshake');
    const timer = setTimeout(() => fail('TLS handshake timed out'), options.handshakeTimeoutMs);
    timer.unref();
    const cleanup = (): void => {
      clearTimeout(timer);
      secure.off('secure', onSecure);
      secure.off('error', onError);
      secure.off('close', onClose);
    };
    secure.once('secure', onSecure);
    secure.on('error', onError);
    secure.once('close', onClose);
  });
}
