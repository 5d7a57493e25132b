/** A stand-in for a supervisor's control socket, for the tests of verbs that ask the running suite. */
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { SOCKET_NAME } from '@hearth/supervisor/control';

/**
 * Listens on the data dir's control socket and answers each request (once its line is whole) with
 * `reply`, one answer line as a supervisor writes it (`{ done: true, ok: ..., ... }`). `requests`:
 * the request lines it got, in order. The caller closes `server`.
 */
export async function fakeControlSocket(dataDir: string, reply: unknown): Promise<{ server: Server; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((socket) => {
    socket.setEncoding('utf8');
    let buffer = '';
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (!buffer.includes('\n')) return;
      requests.push(buffer.trim());
      socket.end(`${JSON.stringify(reply)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(join(dataDir, SOCKET_NAME), resolve);
  });
  return { server, requests };
}
