/**
 * GET and HEAD answered at once from the file cache (`cached-get.ts`) give exactly the full way's
 * answer, and only when nothing but the cache is needed: each case sends the same request twice
 * on one keep-alive connection (the first goes the full way and fills the cache) and reads from
 * the access log which way each answer took.
 */
import { writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '@hearth/testkit';
import { LoginPolicy, loginLimits } from '@hearth/accounts';
import { defaultSettings, type FilesSettings } from '@hearth/files';
import { capturingLogger, request, startServer, type Harness, type RawResult } from './helpers.js';

let h: Harness;
let agent: Agent;
const logLines: Array<Record<string, unknown>> = [];
const log = capturingLogger(logLines);

// The server's login policy, given so that its own counts can be read (the server sets its limits
// from the settings).
const policy = new LoginPolicy(loginLimits(defaultSettings()));

beforeAll(async () => {
  h = await startServer({ log, loginPolicy: policy });
  writeFileSync(join(h.shareDir, 'note.txt'), 'the first text\n');
});
afterAll(async () => {
  await h.close();
});
// One connection per test, each from an address of its own: its credentials are verified on its
// first request (a client's next connection takes what it verified in the last second, below).
let nextAddress = 10;
beforeEach(() => {
  agent = new Agent({ keepAlive: true, maxSockets: 1, localAddress: `127.0.0.${nextAddress++}` });
});
afterEach(() => {
  agent.destroy();
});

/** Whether the access log line of the last request for `path` says it was answered from the cache. */
function lastWay(path: string): 'cache' | 'full' {
  const line = logLines.findLast((l) => l['msg'] === 'request' && l['path'] === path);
  if (line === undefined) throw new Error(`no access log line for ${path}`);
  return line['cached'] === true ? 'cache' : 'full';
}

/** The answer without the Date header (which moves with the clock). */
function comparable(r: RawResult): { status: number; headers: Record<string, unknown>; body: string } {
  const { date: _date, ...headers } = r.headers;
  return { status: r.status, headers, body: r.body };
}

/** The status of a GET of `path` right after a reload to `next` (it must go the full way); the settings are put back after it. */
async function statusAfterReload(next: FilesSettings, path: string): Promise<number> {
  const before = h.settings;
  h.reload(next);
  try {
    const r = await on('GET', path);
    expect(lastWay(path)).toBe('full');
    return r.status;
  } finally {
    h.reload(before);
  }
}

const on = (method: string, path: string, options: { auth?: string; headers?: Record<string, string> } = {}) => request(h.url, method, path, { ...options, agent });

describe('a small file asked again on the same connection', () => {
  it.each(['GET', 'HEAD'])('%s: the second answer comes from the cache and equals the first', async (method) => {
    const first = await on(method, '/files/note.txt');
    expect(lastWay('/files/note.txt')).toBe('full');
    const second = await on(method, '/files/note.txt');
    expect(lastWay('/files/note.txt')).toBe('cache');
    expect(first.status).toBe(200);
    expect(first.headers['content-length']).toBe(String('the first text\n'.length));
    expect(first.body).toBe(method === 'GET' ? 'the first text\n' : '');
    expect(comparable(second)).toEqual(comparable(first));
    // The query is not part of the file's name, on either way.
    const query = await on(method, '/files/note.txt?x=1');
    expect(lastWay('/files/note.txt?x=1')).toBe('cache');
    expect(comparable(query)).toEqual(comparable(first));
  });

  it('goes the full way for a range, the conditionals, the DAV If header and Expect, named in any case, with their answers', async () => {
    const first = await on('GET', '/files/note.txt');
    const etag = first.headers.etag as string;
    const cases: Array<[Record<string, string>, number]> = [
      [{ Range: 'bytes=4-8' }, 206],
      [{ 'If-None-Match': etag }, 304],
      [{ 'If-Match': '"other"' }, 412],
      [{ 'If-Modified-Since': new Date(Date.now() + 60_000).toUTCString() }, 304],
      [{ 'If-Unmodified-Since': 'Thu, 01 Jan 1970 00:00:00 GMT' }, 412],
      [{ 'If-Range': '"other"', Range: 'bytes=0-1' }, 200],
      [{ Expect: '100-continue' }, 200],
      [{ If: `(["${etag}"])` }, 200],
      // Header names in any case.
      [{ 'if-none-match': etag }, 304],
      [{ 'IF-MATCH': '"other"' }, 412],
      [{ rAnGe: 'bytes=4-8' }, 206],
    ];
    for (const [headers, status] of cases) {
      const r = await on('GET', '/files/note.txt', { headers });
      expect({ headers, status: r.status }).toEqual({ headers, status });
      expect(lastWay('/files/note.txt')).toBe('full');
    }
    expect((await on('GET', '/files/note.txt', { headers: { Range: 'bytes=4-8' } })).body).toBe('first');
  });

  it('goes the full way for other credentials, a user without rights, and a folder', async () => {
    await on('GET', '/files/note.txt');
    const bob = await on('GET', '/files/note.txt', { auth: 'bob:hunter2' });
    expect(bob.status).toBe(200);
    expect(lastWay('/files/note.txt')).toBe('full');
    // Carol's credentials are right (verified for this connection by her first request), her rights are not.
    for (let i = 0; i < 2; i++) {
      const carol = await on('GET', '/files/note.txt', { auth: 'carol:pw' });
      expect(carol.status).toBe(403);
      expect(lastWay('/files/note.txt')).toBe('full');
    }
    const wrong = await on('GET', '/files/note.txt', { auth: 'alice:wrong' });
    expect(wrong.status).toBe(401);
    await on('GET', '/files/');
    await on('GET', '/files/');
    expect(lastWay('/files/')).toBe('full');
  });

  it('serves what this service wrote at once, and the cache again after that', async () => {
    await on('GET', '/files/note.txt');
    await on('GET', '/files/note.txt');
    expect(lastWay('/files/note.txt')).toBe('cache');
    const written = await request(h.url, 'PUT', '/files/note.txt', { body: 'the second text\n', agent });
    expect(written.status).toBe(204);
    const after = await on('GET', '/files/note.txt');
    expect(after.body).toBe('the second text\n');
    expect(lastWay('/files/note.txt')).toBe('full');
    const again = await on('GET', '/files/note.txt');
    expect(again.body).toBe('the second text\n');
    expect(lastWay('/files/note.txt')).toBe('cache');
  });

  it('counts answers made at once as the full way counts its own, when the counters are read', async () => {
    writeFileSync(join(h.shareDir, 'counted.txt'), 'counted\n');
    const before = h.files.counters.snapshot();
    for (let i = 0; i < 3; i++) expect((await on('GET', '/files/counted.txt')).body).toBe('counted\n');
    for (let i = 0; i < 2; i++) expect((await on('HEAD', '/files/counted.txt')).status).toBe(200);
    expect(lastWay('/files/counted.txt')).toBe('cache');
    const after = h.files.counters.snapshot();
    const delta = (name: string): number => after[name]! - before[name]!;
    expect({ get: delta('requestsGet'), head: delta('requestsHead'), ok: delta('responses2xx') }).toEqual({ get: 3, head: 2, ok: 5 });
    // Five response heads and three bodies went out on this connection, not yet closed.
    expect(delta('bytesOut')).toBeGreaterThan(3 * 'counted\n'.length + 5 * 'HTTP/1.1 200 OK\r\n'.length);
  });

  it('answers requests sent back to back (pipelined) in order, each logged once written out', async () => {
    writeFileSync(join(h.shareDir, 'piped.txt'), 'piped\n');
    const auth = `Basic ${Buffer.from('alice:secret').toString('base64')}`;
    const socket = connect(h.port, '127.0.0.1');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\n\r\n`;
    const answers = (n: number): Promise<unknown> => waitFor(() => received.split('HTTP/1.1 200 OK').length - 1 >= n, { timeout: 5000, what: `${n} answers` });
    try {
      // The first fills the cache (and verifies the credentials); the next three come in one write.
      socket.write(get('/files/piped.txt'));
      await answers(1);
      socket.write(get('/files/piped.txt') + get('/files/piped.txt?second') + get('/files/piped.txt?third'));
      await answers(4);
    } finally {
      socket.destroy();
    }
    const bodies = received.split('HTTP/1.1 200 OK').slice(1).map((r) => r.slice(r.indexOf('\r\n\r\n') + 4));
    expect(bodies).toEqual(['piped\n', 'piped\n', 'piped\n', 'piped\n']);
    const ways = logLines.filter((l) => l['msg'] === 'request' && String(l['path']).startsWith('/files/piped.txt')).map((l) => [l['path'], l['cached'], l['complete'], l['bytes']]);
    expect(ways).toEqual([
      ['/files/piped.txt', false, true, 6],
      ['/files/piped.txt', true, true, 6],
      ['/files/piped.txt?second', true, true, 6],
      ['/files/piped.txt?third', true, true, 6],
    ]);
  });

  it('gives a kept answer again only while its share is unchanged: a reload that takes the right away answers 403', async () => {
    writeFileSync(join(h.shareDir, 'ruled.txt'), 'ruled\n');
    for (let i = 0; i < 3; i++) expect((await on('GET', '/files/ruled.txt')).status).toBe(200);
    expect(lastWay('/files/ruled.txt')).toBe('cache');
    const files = h.settings.shares['files']!;
    expect(await statusAfterReload({ ...h.settings, shares: { files: { ...files, read: [], write: ['@staff'] } } }, '/files/ruled.txt')).toBe(403);
    expect((await on('GET', '/files/ruled.txt')).status).toBe(200);
  });

  it('sees a change made by another program once the cache stops trusting its lookup', async () => {
    writeFileSync(join(h.shareDir, 'outside.txt'), 'old\n');
    for (let i = 0; i < 3; i++) expect((await on('GET', '/files/outside.txt')).body).toBe('old\n');
    expect(lastWay('/files/outside.txt')).toBe('cache');
    writeFileSync(join(h.shareDir, 'outside.txt'), 'new!\n');
    // The cache trusts a lookup for a second (DEFAULT_CACHE_LIMITS); the answer follows within it.
    const changed = Date.now();
    let body = 'old\n';
    while (body === 'old\n' && Date.now() - changed < 3000) body = (await on('GET', '/files/outside.txt')).body;
    expect(body).toBe('new!\n');
    expect(Date.now() - changed).toBeLessThan(2000);
    expect((await on('GET', '/files/outside.txt')).body).toBe('new!\n');
    expect(lastWay('/files/outside.txt')).toBe('cache');
  });

  it('answers 404 from the first request after a reload removes the share', async () => {
    writeFileSync(join(h.shareDir, 'kept.txt'), 'kept\n');
    await on('GET', '/files/kept.txt');
    expect((await on('GET', '/files/kept.txt')).status).toBe(200);
    expect(lastWay('/files/kept.txt')).toBe('cache');
    expect(await statusAfterReload({ ...h.settings, shares: {} }, '/files/kept.txt')).toBe(404);
    expect((await on('GET', '/files/kept.txt')).status).toBe(200);
  });
});

describe('a small file in steady use on one connection', () => {
  /** GETs of `path` on this test's connection, one every `paceMs`, for `ms`: their statuses, bodies and ways. */
  async function steady(path: string, ms: number, paceMs: number, auth?: string): Promise<Array<{ sent: number; status: number; body: string; way: 'cache' | 'full' }>> {
    const answers = [];
    const start = Date.now();
    while (Date.now() - start < ms) {
      const sent = Date.now();
      const r = await on('GET', path, auth === undefined ? {} : { auth });
      answers.push({ sent, status: r.status, body: r.body, way: lastWay(path) });
      await new Promise((resolve) => setTimeout(resolve, paceMs));
    }
    return answers;
  }

  it('is answered at once throughout: its lookup and the credentials are renewed in the background', async () => {
    writeFileSync(join(h.shareDir, 'steady.txt'), 'in steady use\n');
    // Past two ends of the lookup's trust and of the credentials' memo (a second each); a renewal
    // starts in the last quarter of that second, so requests come well within a quarter.
    const answers = await steady('/files/steady.txt', 2600, 15);
    const gaps = answers.slice(1).map((a, i) => a.sent - answers[i]!.sent);
    expect(Math.max(...gaps)).toBeLessThan(250);
    expect(answers.filter((a) => a.status !== 200 || a.body !== 'in steady use\n')).toEqual([]);
    expect(answers[0]!.way).toBe('full');
    expect(answers.slice(1).filter((a) => a.way === 'full')).toEqual([]);
  });

  it("keeps a user's open connection answered at once while failures elsewhere slow the user's logins", async () => {
    writeFileSync(join(h.shareDir, 'busy.txt'), 'busy\n');
    h.users.add('erin', 'erin-pw', ['staff']);
    const before = h.settings;
    h.reload({ ...before, loginFailureDelay: 1000 });
    try {
      // Someone elsewhere fails erin's password as often as the user limit allows: her logins are slowed.
      const noWait = async (): Promise<void> => {};
      for (let i = 0; i < before.maxLoginFailuresPerUser; i++) await policy.attempt(`192.0.2.${i + 1}`, 'erin', async () => undefined, { wait: noWait });
      const slowedBefore = policy.stats().slowed;
      // Her connection's first request is a login, slowed; every later one is its memo or a
      // renewal of it, which is not.
      const first = Date.now();
      expect((await on('GET', '/files/busy.txt', { auth: 'erin:erin-pw' })).status).toBe(200);
      expect(Date.now() - first).toBeGreaterThanOrEqual(1000);
      const answers = await steady('/files/busy.txt', 2600, 15, 'erin:erin-pw');
      const gaps = answers.slice(1).map((a, i) => a.sent - answers[i]!.sent);
      expect(Math.max(...gaps)).toBeLessThan(250);
      expect(answers.filter((a) => a.status !== 200)).toEqual([]);
      expect(policy.stats().slowed - slowedBefore).toBe(1);
    } finally {
      h.reload(before);
    }
  });

  it('refuses credentials whose password changed, within the second they are taken unchecked, each refusal counted once', async () => {
    writeFileSync(join(h.shareDir, 'guarded.txt'), 'guarded\n');
    h.users.add('dave', 'first', ['staff']);
    expect((await on('GET', '/files/guarded.txt', { auth: 'dave:first' })).status).toBe(200);
    const before = h.files.counters.snapshot();
    const policyBefore = policy.stats();
    h.users.add('dave', 'second', ['staff']);
    const changed = Date.now();
    const answers = await steady('/files/guarded.txt', 1500, 15, 'dave:first');
    const after = h.files.counters.snapshot();
    const policyAfter = policy.stats();
    // A check made before the change is taken for at most a second: every request sent a second
    // after it is refused, and none is answered from the cache once one was refused.
    const late = answers.filter((a) => a.sent > changed + 1000);
    expect(late.length).toBeGreaterThan(0);
    expect(late.filter((a) => a.status !== 401)).toEqual([]);
    const refused = answers.findIndex((a) => a.status === 401);
    expect(answers.slice(refused).filter((a) => a.status !== 401 || a.way !== 'full')).toEqual([]);
    expect(answers.slice(0, refused).filter((a) => a.status !== 200)).toEqual([]);
    // Wrong, or refused without a check once the login policy's limits are passed.
    const delta = (name: string): number => after[name]! - before[name]!;
    expect(delta('authFailures')).toBeGreaterThan(0);
    expect(delta('authFailures') + delta('loginsRefused')).toBe(answers.length - refused);
    expect(after['authSuccesses']! - before['authSuccesses']!).toBe(0);
    // The login policy saw one attempt per refusal: the renewal that failed in the background is
    // the first refused request's, not an extra failure counted against the address and the user.
    expect(policyAfter.failures - policyBefore.failures + (policyAfter.refused - policyBefore.refused)).toBe(answers.length - refused);
  });
});

describe("a client's next connections", () => {
  it('take the credentials it had verified in the last second: their first request is answered at once, and counted as a login', async () => {
    writeFileSync(join(h.shareDir, 'again.txt'), 'again\n');
    const address = `127.0.0.${nextAddress++}`;
    const connection = (from = address): Agent => new Agent({ keepAlive: true, maxSockets: 1, localAddress: from });
    const first = connection();
    const second = connection();
    const elsewhere = connection(`127.0.0.${nextAddress++}`);
    try {
      const get = (a: Agent, auth = 'alice:secret') => request(h.url, 'GET', '/files/again.txt', { agent: a, auth });
      const before = h.files.counters.snapshot();
      expect((await get(first)).status).toBe(200);
      expect(lastWay('/files/again.txt')).toBe('full');
      // The same client's next connection, the same credentials: at once, one more login counted.
      expect((await get(second)).body).toBe('again\n');
      expect(lastWay('/files/again.txt')).toBe('cache');
      const after = h.files.counters.snapshot();
      expect(after['authSuccesses']! - before['authSuccesses']!).toBe(2);
      // Another client, or other credentials: checked.
      expect((await get(elsewhere)).status).toBe(200);
      expect(lastWay('/files/again.txt')).toBe('full');
      const third = connection();
      expect((await get(third, 'bob:hunter2')).status).toBe(200);
      expect(lastWay('/files/again.txt')).toBe('full');
      third.destroy();
      // After a failed login anywhere, a new connection is checked: the login policy may refuse it now.
      const failing = connection(`127.0.0.${nextAddress++}`);
      expect((await get(failing, 'alice:wrong')).status).toBe(401);
      failing.destroy();
      const afterFailure = connection();
      expect((await get(afterFailure)).status).toBe(200);
      expect(lastWay('/files/again.txt')).toBe('full');
      afterFailure.destroy();
    } finally {
      for (const a of [first, second, elsewhere]) a.destroy();
    }
  });

  it('refuse credentials whose password changed: every new connection after the change', async () => {
    writeFileSync(join(h.shareDir, 'moved.txt'), 'moved\n');
    h.users.add('frank', 'first', ['staff']);
    const address = `127.0.0.${nextAddress++}`;
    const once = async (): Promise<{ sent: number; status: number }> => {
      const a = new Agent({ keepAlive: true, maxSockets: 1, localAddress: address });
      try {
        const sent = Date.now();
        return { sent, status: (await request(h.url, 'GET', '/files/moved.txt', { agent: a, auth: 'frank:first' })).status };
      } finally {
        a.destroy();
      }
    };
    expect((await once()).status).toBe(200);
    h.users.add('frank', 'second', ['staff']);
    const changed = Date.now();
    const answers: Array<{ sent: number; status: number }> = [];
    // Within the second the check before the change is kept for, and after it.
    while (Date.now() - changed < 1500) {
      answers.push(await once());
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    expect(answers.length).toBeGreaterThan(10);
    expect(answers.filter((a) => a.status !== 401)).toEqual([]);
  });
});

describe('a kept answer after new settings', () => {
  it('says the keep-alive time the settings give now', async () => {
    writeFileSync(join(h.shareDir, 'kept.txt'), 'kept\n');
    const keepAlive = async (way: 'full' | 'cache'): Promise<unknown> => {
      const r = await on('GET', '/files/kept.txt');
      expect(r.status).toBe(200);
      expect(lastWay('/files/kept.txt')).toBe(way);
      return r.headers['keep-alive'];
    };
    const before = h.settings;
    expect(await keepAlive('full')).toBe(`timeout=${before.keepAliveTimeout / 1000}`);
    expect(await keepAlive('cache')).toBe(`timeout=${before.keepAliveTimeout / 1000}`);
    h.reload({ ...before, keepAliveTimeout: before.keepAliveTimeout + 2000 });
    try {
      // New settings: the credentials are checked again, then the answer is kept again.
      expect(await keepAlive('full')).toBe(`timeout=${before.keepAliveTimeout / 1000 + 2}`);
      expect(await keepAlive('cache')).toBe(`timeout=${before.keepAliveTimeout / 1000 + 2}`);
    } finally {
      h.reload(before);
    }
  });
});

describe('the access log', () => {
  it("is written once the logger's level lets it be, on either way", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const quiet = capturingLogger(lines);
    quiet.level = 'warn';
    const other = await startServer({ log: quiet });
    const agents = [new Agent({ keepAlive: true, maxSockets: 1, localAddress: '127.0.0.3' }), new Agent({ keepAlive: true, maxSockets: 1, localAddress: '127.0.0.4' })];
    try {
      writeFileSync(join(other.shareDir, 'quiet.txt'), 'quiet\n');
      const get = async (agent: Agent): Promise<void> => {
        expect((await request(other.url, 'GET', '/files/quiet.txt', { agent })).status).toBe(200);
      };
      const logged = (): unknown[] => lines.filter((l) => l['msg'] === 'request').map((l) => l['cached']);
      // The full way, then at once: neither is logged.
      await get(agents[0]!);
      await get(agents[0]!);
      expect(logged()).toEqual([]);
      quiet.level = 'info';
      await get(agents[0]!);
      // The second agent's connection is from another address: its first request goes the full way.
      await get(agents[1]!);
      expect(logged()).toEqual([true, false]);
    } finally {
      for (const agent of agents) agent.destroy();
      await other.close();
    }
    // A stopped server no longer listens to the logger.
    expect(quiet.listenerCount('level-change')).toBe(0);
  });
});
