/**
 * A restart or upgrade of the file service loses no request: under `hearth up`, loops of clients
 * PUT, GET and PROPFIND on keep-alive connections (HTTP and HTTPS) and on a fresh connection per
 * request while `hearth restart files` runs, and a reload that changes the service's config so
 * that its instance is replaced, several times each. Every request gets its complete, correct
 * answer: no refused or reset connection, no 5xx, every GET the bytes of the PUT before it. A
 * slow download started before the first restart completes byte-identical.
 *
 * The one failure a client may retry is counted apart: a keep-alive connection that the old
 * instance closed while idle, just as the client sent its next request on it (RFC 9112 9.3.1).
 * It never happens on a fresh connection, nor to a request the server had begun to read.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { waitFor } from '@hearth/testkit';
import { stopAll, waitState } from '@hearth/testkit/hearth-up';
import { AUTH, IdleCloseError, send, startSupervised, type Answer, type SendOptions } from './supervised.js';

afterEach(stopAll);

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface LoopResult {
  requests: number;
  idleRetries: number;
  failures: string[];
}

/** PUT, GET, PROPFIND in a loop on `path` until `running()` is false. */
async function clientLoop(port: number, path: string, options: Omit<SendOptions, 'headers' | 'body'>, running: () => boolean, out: LoopResult): Promise<void> {
  const call = async (method: string, extra: Pick<SendOptions, 'headers' | 'body'> = {}): Promise<Answer> => {
    for (;;) {
      out.requests++;
      try {
        return await send(port, method, path, { ...options, ...extra });
      } catch (err) {
        if (!(err instanceof IdleCloseError) || options.agent === false || options.agent === undefined) throw err;
        out.idleRetries++;
      }
    }
  };
  for (let i = 0; running(); i++) {
    const body = `${path} ${i} ${randomBytes(8).toString('hex')}\n`.repeat(1 + (i % 50));
    try {
      const put = await call('PUT', { body });
      if (put.status !== 201 && put.status !== 204) throw new Error(`PUT ${path}: ${put.status}`);
      const get = await call('GET');
      if (get.status !== 200 || get.body.toString() !== body) throw new Error(`GET ${path}: ${get.status}, ${get.body.length} bytes, not the ${body.length} put`);
      const find = await call('PROPFIND', { headers: { Depth: '0' } });
      if (find.status !== 207 || !find.body.toString().includes(`<D:getcontentlength>${Buffer.byteLength(body)}<`)) throw new Error(`PROPFIND ${path}: ${find.status}`);
    } catch (err) {
      out.failures.push(`${path}: ${(err as Error).message}`);
    }
  }
}

it('loses no request across restarts and replacing reloads, and finishes a slow download', async () => {
  const s = await startSupervised();
  const first = await waitState(s.up, 'files', 'running');
  const big = randomBytes(16 * 1024 * 1024);
  writeFileSync(join(s.shareDir, 'big.bin'), big);

  let running = true;
  const results: Record<string, LoopResult> = {};
  const loops: Promise<void>[] = [];
  const agents: Array<Agent | HttpsAgent> = [];
  const start = (name: string, options: Omit<SendOptions, 'headers' | 'body'>, port: number): void => {
    const r: LoopResult = { requests: 0, idleRetries: 0, failures: [] };
    results[name] = r;
    loops.push(clientLoop(port, `/files/${name}.txt`, options, () => running, r));
  };
  for (let i = 0; i < 3; i++) {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    start(`keepalive-${i}`, { agent }, s.port);
    start(`fresh-${i}`, { agent: false }, s.port);
  }
  const tlsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  agents.push(tlsAgent);
  start('keepalive-tls', { agent: tlsAgent, secure: true }, s.httpsPort);
  start('fresh-tls', { agent: false, secure: true }, s.httpsPort);

  // The slow download: its first bytes, then it waits until the first restart has a new instance.
  const download = await new Promise<IncomingMessage>((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port: s.port, path: '/files/big.bin', headers: { Authorization: AUTH }, agent: false }, resolve).on('error', reject).end();
  });
  const received: Buffer[] = [];
  await new Promise<void>((resolve) => download.once('readable', () => resolve()));
  for (let c = download.read() as Buffer | null; c !== null; c = download.read() as Buffer | null) received.push(c);
  download.pause();

  const pids = new Set<number>([first.pid!]);
  const newInstance = async (): Promise<number> => {
    const now = await waitFor(async () => {
      const st = await s.up.service('files');
      return st.state === 'running' && !pids.has(st.pid!) ? st : undefined;
    }, { timeout: 30_000, what: 'a new files instance' });
    pids.add(now.pid!);
    return now.pid!;
  };

  const firstRestart = s.up.cli('restart', 'files');
  await newInstance();
  // The old instance drains the download: read the rest slowly.
  const downloaded = (async () => {
    download.resume();
    for await (const chunk of download) {
      received.push(chunk as Buffer);
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  expect((await firstRestart).code).toBe(0);
  await downloaded;
  expect(sha(Buffer.concat(received))).toBe(sha(big));

  for (let round = 0; round < 2; round++) {
    expect((await s.up.cli('restart', 'files')).code).toBe(0);
    await newInstance();
    // A changed stopTimeout (with a share added or removed) replaces the instance.
    s.up.writeConfig(s.config(round === 0 ? '11s' : '10s', round === 0 ? `        more: { path: ${s.shareDir}, read: [alice] }\n` : ''));
    expect((await s.up.cli('reload')).code).toBe(0);
    await newInstance();
  }
  running = false;
  await Promise.all(loops);
  for (const a of agents) a.destroy();

  const failures = Object.values(results).flatMap((r) => r.failures);
  const total = Object.values(results).reduce((n, r) => n + r.requests, 0);
  const retries = Object.values(results).reduce((n, r) => n + r.idleRetries, 0);
  console.log(`files restart load: ${pids.size - 1} replacements, ${total} requests, ${retries} retried after an idle keep-alive close, ${failures.length} failed`);
  expect(failures).toEqual([]);
  expect(pids.size).toBe(6);
  for (const [name, r] of Object.entries(results)) {
    expect(r.requests, name).toBeGreaterThan(30);
    if (name.startsWith('fresh')) expect(r.idleRetries, name).toBe(0);
  }
  // The last instance serves the last config: the share added by the first reload is gone again.
  expect((await send(s.port, 'PROPFIND', '/more/', { headers: { Depth: '0' } })).status).toBe(404);
}, 120_000);
