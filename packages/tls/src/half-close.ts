/**
 * HTTP/1.1 clients that send their requests and then shut down their side of the connection (a
 * TCP half-close: `printf 'GET / ...' | nc -N`, a socket's `end()`, some proxies and scripts) get
 * every answer, then the close, as nginx and Apache answer them. Node's HTTP server otherwise
 * takes the client's FIN as the end of everything: it aborts the requests in progress and ends
 * the connection, so an answer that was not written at once is never sent.
 */
import type { Server as HttpServer } from 'node:http';
import { Server as TlsServer, type TLSSocket } from 'node:tls';

/**
 * Makes `server` (an `http.Server` or `https.Server`, before it listens) answer half-closed
 * clients: at the client's FIN the requests already read are answered, in order, and the
 * connection is ended after the last (at once when none is in progress). Over TLS only a
 * connection past its handshake is kept half-open: one that sends its FIN before (a port scan, a
 * handshake given up) is closed at once, as before.
 */
export function answerHalfClosed(server: HttpServer): void {
  // Node's own switch for this (`socketOnEnd` in its HTTP server), which it leaves off.
  (server as HttpServer & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  // A plain HTTP server's sockets are half-open already; a TLS server's are not, so its read side
  // ending would end its write side too.
  if (server instanceof TlsServer) {
    server.prependListener('secureConnection', (socket: TLSSocket) => {
      socket.allowHalfOpen = true;
    });
  }
}
