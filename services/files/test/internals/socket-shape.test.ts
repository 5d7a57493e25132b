/**
 * Every socket requests come on has the same properties in the same order however its requests
 * went (`settle` in `server.ts`): V8 gives objects whose properties were added in one order one
 * shape, and its inline caches in Node's HTTP code fall back to a slow lookup once they see more
 * than four. An object's own keys in their order stand for its shape here. The connections below
 * take each way a connection's first requests can go: the full way (its bookkeeping made before
 * its credentials are checked, an idle timeout set), at once with credentials another connection
 * of its client verified a moment ago (the credentials first, then the bookkeeping, no timeout),
 * a failed login first, and the same over HTTPS.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, type IncomingMessage, type Server } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HandlerTable } from '@hearth/runtime';
import { waitFor } from '@hearth/testkit';
import { createFilesServer, defaultSettings, MemoryUsers, type FilesServer } from '@hearth/files';
import { capturingLogger, request, testCertificate } from '../helpers.js';

let dataDir: string;
let files: FilesServer;
let http: Server;
let https: Server;
let url: string;
let httpsPort: number;
/** The socket of every request, by the listener it came to. */
const sockets = { http: new Set<Socket>(), https: new Set<Socket>() };
/** The access log's lines: whether each request was answered at once (`cached`). */
const logLines: Array<Record<string, unknown>> = [];

/**
 * Whether each request since access log line `from` was answered at once, in order, once `count`
 * are logged: each connection's first requests must have gone the way the test says they did.
 */
async function waysFrom(from: number, count: number): Promise<boolean[]> {
  const requests = () => logLines.slice(from).filter((l) => l['msg'] === 'request');
  await waitFor(() => requests().length >= count);
  return requests().map((l) => l['cached'] === true);
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'files-shape-'));
  const shareDir = join(dataDir, 'share');
  mkdirSync(shareDir);
  writeFileSync(join(shareDir, 'note.txt'), 'a small file\n');
  files = createFilesServer({
    settings: { ...defaultSettings(), loginFailureDelay: 10, shares: { files: { path: shareDir, read: [], write: ['alice'], refuseAppleFiles: false, quota: 0 } } },
    users: new MemoryUsers().add('alice', 'secret'),
    handlers: new HandlerTable<unknown>(),
    dataDir,
    log: capturingLogger(logLines),
  });
  await files.reserved;
  const cert = testCertificate();
  http = files.httpServer();
  https = files.httpsServer({ cert: cert.cert, key: cert.key });
  http.on('request', (req: IncomingMessage) => sockets.http.add(req.socket));
  https.on('request', (req: IncomingMessage) => sockets.https.add(req.socket));
  await Promise.all([http, https].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  httpsPort = (https.address() as AddressInfo).port;
});

afterAll(async () => {
  await files.stop(Date.now() + 2000);
  rmSync(dataDir, { recursive: true, force: true });
});

/** `socket`'s own keys in their order, symbols by their descriptions. */
function keysOf(socket: Socket): string[] {
  return Reflect.ownKeys(socket).map((k) => (typeof k === 'symbol' ? `Symbol(${k.description ?? ''})` : k));
}

function httpsGet(agent: HttpsAgent, path: string, auth: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers = { Authorization: `Basic ${Buffer.from(auth).toString('base64')}` };
    const req = httpsRequest({ host: '127.0.0.1', port: httpsPort, path, headers, agent, rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the sockets requests come on', () => {
  it('have one shape over HTTP, whichever way their first requests went', async () => {
    const from = logLines.length;
    const statuses: number[] = [];
    const ask = async (agent: Agent, method: string, auth = 'alice:secret') =>
      statuses.push((await request(url, method, '/files/note.txt', { agent, auth, headers: { Depth: '0' } })).status);
    // The full way first (the file not cached yet, credentials not seen), then at once.
    const full = new Agent({ keepAlive: true, maxSockets: 1 });
    await ask(full, 'GET');
    await ask(full, 'GET');
    await ask(full, 'PROPFIND');
    // At once from its first request: the credentials the first connection verified just now.
    const adopted = new Agent({ keepAlive: true, maxSockets: 1 });
    await ask(adopted, 'GET');
    await ask(adopted, 'HEAD');
    // A wrong password first, from another address (which forgets what was verified), then the full way.
    const failed = new Agent({ keepAlive: true, maxSockets: 1, localAddress: '127.0.0.2' });
    await ask(failed, 'GET', 'alice:wrong');
    await ask(failed, 'GET');
    await ask(failed, 'GET');
    for (const agent of [full, adopted, failed]) agent.destroy();
    expect(statuses).toEqual([200, 200, 207, 200, 200, 401, 200, 200]);
    // Answered at once: the full way's second GET, the second connection from its first request
    // (its client's credentials), the third's GET after its full way.
    expect(await waysFrom(from, statuses.length)).toEqual([false, true, false, true, true, false, false, true]);
    expect(sockets.http.size).toBe(3);
    const [first, ...others] = [...sockets.http].map(keysOf);
    expect(first).toEqual(expect.arrayContaining(['Symbol(connection)', 'Symbol(verified credentials)']));
    for (const keys of others) expect(keys).toEqual(first);
  });

  it('have one shape over HTTPS, whichever way their first requests went', async () => {
    const from = logLines.length;
    const statuses: number[] = [];
    const full = new HttpsAgent({ keepAlive: true, maxSockets: 1 });
    statuses.push(await httpsGet(full, '/files/note.txt', 'alice:secret'), await httpsGet(full, '/files/note.txt', 'alice:secret'));
    const adopted = new HttpsAgent({ keepAlive: true, maxSockets: 1 });
    statuses.push(await httpsGet(adopted, '/files/note.txt', 'alice:secret'));
    const failed = new HttpsAgent({ keepAlive: true, maxSockets: 1, localAddress: '127.0.0.3' });
    statuses.push(await httpsGet(failed, '/files/note.txt', 'alice:wrong'), await httpsGet(failed, '/files/note.txt', 'alice:secret'));
    for (const agent of [full, adopted, failed]) agent.destroy();
    expect(statuses).toEqual([200, 200, 200, 401, 200]);
    // The first GET over HTTPS goes the full way (the credentials were verified over HTTP only).
    expect(await waysFrom(from, statuses.length)).toEqual([false, true, true, false, false]);
    expect(sockets.https.size).toBe(3);
    const [first, ...others] = [...sockets.https].map(keysOf);
    expect(first).toEqual(expect.arrayContaining(['Symbol(connection)', 'Symbol(verified credentials)']));
    for (const keys of others) expect(keys).toEqual(first);
  });
});
