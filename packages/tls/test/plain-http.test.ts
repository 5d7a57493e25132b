/**
 * `answerPlainHttp` on a real HTTPS server, with curl as the client: plain HTTP gets a 400 that
 * names the https URL, HTTPS (kept alive) is served as before, and a connection that says
 * nothing is closed at the timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { answerPlainHttp, loadTlsMaterial } from '@hearth/tls';

const run = promisify(execFile);
let dir: string;
let server: Server;
let port: number;
let ca: string;
let timeoutMs = 60_000;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-plain-http-'));
  const material = await loadTlsMaterial({ dataDir: dir });
  ca = material.certFile;
  server = createServer({ cert: material.cert, key: material.key }, (req, res) => res.end(`served ${req.url}\n`));
  answerPlainHttp(server, { firstBytesTimeoutMs: () => timeoutMs });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.close();
  server.closeAllConnections();
  await rm(dir, { recursive: true, force: true });
});

async function curl(...args: string[]): Promise<string> {
  const { stdout } = await run('curl', ['-sS', '-i', '--max-time', '10', ...args]);
  return stdout;
}

describe('an HTTPS listener given answerPlainHttp', () => {
  it('answers plain HTTP with 400 and the https URL to use, and closes', async () => {
    const out = await curl(`http://localhost:${port}/docs/a%20b.txt?x=1`);
    expect(out).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(out).toMatch(/\r\nConnection: close\r\n/i);
    expect(out).toContain(`This port speaks HTTPS: use https://localhost:${port}/docs/a%20b.txt?x=1\n`);
  });

  it('names no URL when the Host field is not a plain host', async () => {
    const out = await curl('-H', 'Host: evil.example/<script>', `http://127.0.0.1:${port}/`);
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    expect(out).toContain('This port speaks HTTPS: use an https:// URL.\n');
    expect(out).not.toContain('evil');
  });

  it('serves HTTPS as before, several requests on one connection', async () => {
    const out = await curl('--cacert', ca, '--resolve', `localhost:${port}:127.0.0.1`, `https://localhost:${port}/one`, `https://localhost:${port}/two`);
    expect(out).toContain('served /one\n');
    expect(out).toContain('served /two\n');
    expect(out.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
  });

  it('leaves what is neither to the TLS layer, and closes a connection that stays silent', async () => {
    const garbage = connect(port, '127.0.0.1');
    garbage.write('\x00\x01\x02 not tls\r\n');
    garbage.resume();
    await once(garbage, 'close');
    timeoutMs = 100;
    const silent = connect(port, '127.0.0.1');
    silent.resume();
    const [hadError] = (await once(silent, 'close')) as [boolean];
    expect(hadError).toBe(false);
    expect(silent.bytesRead).toBe(0);
  });
});
