/** The control socket at the socket level: half-closed requests are answered, idle connections closed. */
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlServer, type ControlHandler } from '@hearth/supervisor';
import { makeTempDir, type TempDir } from '@hearth/testkit';

let dir: TempDir | undefined;
let server: ControlServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  await dir?.remove();
  dir = undefined;
});

const handler: ControlHandler = {
  handle: (request) => Promise.resolve({ verb: request.verb }),
  follow: () => () => {},
};

/** Everything the server writes until it closes the connection. */
function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.once('close', () => resolve(text));
    socket.once('error', reject);
  });
}

async function start(requestTimeoutMs?: number): Promise<string> {
  dir = await makeTempDir('control-');
  const path = join(dir.path, 'hearth.sock');
  server = await ControlServer.listen(path, handler, requestTimeoutMs === undefined ? {} : { requestTimeoutMs });
  return path;
}

describe('control socket', () => {
  it('answers a client that half-closes after its request, with or without the newline (socat, nc -N)', async () => {
    const path = await start();
    for (const request of ['{"verb":"status"}\n', '{"verb":"status"}']) {
      const socket = connect(path);
      const reply = readAll(socket);
      socket.end(request);
      expect(JSON.parse((await reply).trim())).toEqual({ done: true, ok: true, result: { verb: 'status' } });
    }
  });

  it('closes a connection that sends no request in time', async () => {
    const path = await start(300);
    const socket = connect(path);
    const started = Date.now();
    socket.write('{"verb":');
    expect(await readAll(socket)).toBe('');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });
});
