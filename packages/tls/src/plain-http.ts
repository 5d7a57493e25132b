/**
 * A plain HTTP request sent to an HTTPS listener (`http://host:2443/`, a typed URL without its
 * `s`) gets an answer that says so, as nginx's and Apache's do, instead of a connection closed
 * without a word (what OpenSSL's refusal of the handshake gives: browsers show an empty
 * response, curl "Empty reply from server").
 *
 * The first bytes of each connection are read before the TLS layer takes it: a TLS record begins
 * with a handshake byte (22); a line that begins like an HTTP request (an upper-case method and a
 * space) is answered `400` with the https URL to use, and the connection closed. Anything else,
 * and every TLS handshake, goes to the server's TLS layer with the bytes read, as if unread.
 */
import type { Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';

/** The first byte of a TLS record carrying a handshake (a ClientHello). */
const TLS_HANDSHAKE = 0x16;
/** An HTTP request line's beginning: a method in capitals, then a space. */
const HTTP_REQUEST = /^[A-Z]{3,10} /;
/** What may be echoed into the answer's https URL: a host (name, IPv4, bracketed IPv6) and port. */
const SAFE_HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
const SAFE_TARGET = /^\/[\x21-\x7e]*$/;

export interface PlainHttpOptions {
  /** How long a new connection may stay silent before its first bytes, read at each connection. */
  readonly firstBytesTimeoutMs: () => number;
}

/**
 * Makes `server` (an `https.Server` or `tls.Server`, before it listens) answer plain HTTP
 * requests with a `400` naming the https URL. It replaces the server's own connection listener
 * (the TLS layer's, the only one a new server has) with one that reads the first bytes, then hands
 * the connection on unchanged.
 */
export function answerPlainHttp(server: TlsServer, options: PlainHttpOptions): void {
  const own = server.listeners('connection');
  if (own.length !== 1) throw new Error(`answerPlainHttp: the server has ${own.length} connection listeners; call it on a new server`);
  const tlsLayer = own[0] as (this: TlsServer, socket: Socket) => void;
  server.removeListener('connection', tlsLayer);
  server.prependListener('connection', function (this: TlsServer, socket: Socket) {
    const gone = (): void => {
      socket.destroy();
    };
    socket.setTimeout(options.firstBytesTimeoutMs(), gone);
    socket.once('error', gone);
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.setTimeout(0);
      socket.removeListener('timeout', gone);
      socket.removeListener('error', gone);
      if (chunk[0] === TLS_HANDSHAKE || !HTTP_REQUEST.test(chunk.subarray(0, 12).toString('latin1'))) {
        socket.unshift(chunk);
        tlsLayer.call(this, socket);
        return;
      }
      answer(socket, chunk);
    });
  });
}

function answer(socket: Socket, chunk: Buffer): void {
  const url = httpsUrl(chunk.toString('latin1'));
  const text = url === undefined ? 'This port speaks HTTPS: use an https:// URL.\n' : `This port speaks HTTPS: use ${url}\n`;
  const head = ['HTTP/1.1 400 Bad Request', 'Content-Type: text/plain; charset=utf-8', `Content-Length: ${Buffer.byteLength(text)}`, 'X-Content-Type-Options: nosniff', 'Connection: close'];
  socket.on('error', () => socket.destroy());
  // What the client still sends is read and dropped, so that closing does not reset the answer.
  socket.resume();
  socket.end(`${head.join('\r\n')}\r\n\r\n${text}`);
}

/** `https://HOST/TARGET` from the request's line and `Host` field, when both are in `head` and plain. */
function httpsUrl(head: string): string | undefined {
  const lines = head.split('\r\n');
  const target = lines[0]?.split(' ')[1];
  const host = lines
    .slice(1)
    .find((line) => /^host:/i.test(line))
    ?.slice(5)
    .trim();
  if (target === undefined || host === undefined || !SAFE_TARGET.test(target) || !SAFE_HOST.test(host)) return undefined;
  return `https://${host}${target}`;
}
