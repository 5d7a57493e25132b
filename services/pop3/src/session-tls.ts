/**
 * STLS on the wire (RFC 2595): the +OK goes out, the plain socket stops being read (whatever the
 * client pipelined after STLS is discarded), then the TLS handshake over it. The session decides
 * when (its phase is `upgrading` meanwhile) and starts again in AUTHORIZATION on the TLS socket.
 */
import type { Socket } from 'node:net';
import type { SecureContext, TLSSocket } from 'node:tls';
import { ConnectionClosedError, startTls, type LineReader } from '@hearth/line-protocol';
import type { Logger } from '@hearth/log';

export interface UpgradeOptions {
  readonly secureContext: SecureContext;
  readonly handshakeTimeoutMs: number;
  /** The plain socket's reader, stopped once the +OK is out. */
  readonly reader: LineReader | undefined;
  readonly log: Logger;
  /** Detach the session's listeners from the plain socket (the TLS socket gets its own). */
  readonly detach: (plain: Socket) => void;
}

/**
 * Sends `okLine` and upgrades `plain`: the TLS socket, or the handshake's error. Rejects with a
 * ConnectionClosedError if the line cannot be written.
 */
export async function upgradeToTls(plain: Socket, okLine: string, options: UpgradeOptions): Promise<{ readonly secure: TLSSocket } | { readonly error: unknown }> {
  await new Promise<void>((resolve, reject) => plain.write(`${okLine}\r\n`, (error) => (error ? reject(new ConnectionClosedError()) : resolve())));
  const dropped = options.reader?.stop() ?? 0;
  if (dropped > 0) options.log.info({ bytes: dropped }, 'discarded input pipelined after STLS');
  options.detach(plain);
  plain.on('error', () => {});
  const handshake = startTls(plain, { secureContext: options.secureContext, handshakeTimeoutMs: options.handshakeTimeoutMs });
  return handshake.then(
    (secure) => ({ secure }),
    (error: unknown) => ({ error }),
  );
}
