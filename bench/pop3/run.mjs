#!/usr/bin/env node
/**
 * POP3 benchmark: Hearth's pop3 service next to Dovecot (Debian dovecot-pop3d) with its
 * default process settings and tuned (`service_count`/`process_min_avail`), in one run, on loopback,
 * with the same mail: 1,000 messages of 10 KB and 5 of 1 MB in each measured user's maildrop.
 *
 *   - full sessions/s (connect, USER/PASS, STAT, LIST, UIDL, RETR of a 10 KB message, QUIT) at
 *     concurrency 1, 16, 64 (one user per concurrent client: POP3 locks the maildrop), p50/p99;
 *   - RETR of a 1 MB message, MB/s, 1 and 16 clients;
 *   - PASS latency on a user's first login (Hearth: scrypt; Dovecot: PLAIN);
 *   - memory for N idle logged-in sessions (distinct users with 10 messages of 10 KB each):
 *     Hearth's pop3 process (RSS and PSS) vs the sum of PSS of all Dovecot processes.
 *
 * The throughput cells run with every server up at once, one target after the other for each
 * cell, in `--rounds` rounds (the order reversed every other round), so that a change in the
 * machine's load while the bench runs hits every target alike; a cell's figure pools its rounds.
 *
 * usage: node bench/pop3/run.mjs [--seconds 5] [--rounds 2] [--idle 1000,10000] [--only hearth,dovecot,dovecot-perf] [--json FILE]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fullSession, login, pickMessages, Pop3Client } from './client.mjs';
import { dovecotConfig, ensureDovecot, mailOwner, memoryOf, startDovecot, startHearth, treeMemory } from './peers.mjs';
import { buildMaildirs, buildStore, makeCert, makeMessages, PASSWORD } from './setup.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const NOFILE = 65536;

const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
    idle: { type: 'string', default: '1000,10000' },
    concurrency: { type: 'string', default: '1,16,64' },
    only: { type: 'string', default: 'hearth,dovecot,dovecot-perf' },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(opts.seconds);
const ROUNDS = Math.max(1, Number(opts.rounds));
const WARM_UP_SECONDS = 2;
const IDLE = opts.idle.split(',').filter(Boolean).map(Number);
const LEVELS = opts.concurrency.split(',').filter(Boolean).map(Number);
const TARGETS = opts.only.split(',').map((s) => s.trim());
const MAX_IDLE = Math.max(0, ...IDLE);
const SESSION_USERS = Math.max(16, ...LEVELS);
const COLD_USERS = 5;

// 10,000 sessions need 10,000 descriptors on each side: run the whole bench under a raised limit
// (up to the hard limit: raising that needs CAP_SYS_RESOURCE, which a container may not have).
function nofileLimits() {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const [soft, hard] = (line ?? '').split(/\s+/).slice(3, 5).map((v) => (v === 'unlimited' ? Infinity : Number(v)));
  return { soft, hard };
}
const limits = nofileLimits();
const wantFiles = Math.min(NOFILE, limits.hard);
if (limits.soft < wantFiles && process.env.HEARTH_BENCH_PRLIMIT !== '1') {
  const r = spawnSync('prlimit', [`--nofile=${wantFiles}:${limits.hard === Infinity ? 'unlimited' : limits.hard}`, process.execPath, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, HEARTH_BENCH_PRLIMIT: '1' },
  });
  if (r.error || r.status === null) {
    console.error(`could not raise the open-file limit with prlimit (${r.error?.message ?? r.signal})`);
    process.exit(1);
  }
  process.exit(r.status);
}
if (nofileLimits().soft < MAX_IDLE + 500) {
  console.error(`${MAX_IDLE} idle sessions need about ${MAX_IDLE + 500} open files; the limit is ${nofileLimits().soft}`);
  process.exit(1);
}

// ---- measurements ------------------------------------------------------------------------------

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** `c` clients, client i logged in as users[i], each running full sessions until the deadline. */
async function sessionsAt(port, users, picks, c, seconds) {
  const latencies = [];
  const errors = new Map();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    users.slice(0, c).map(async (user) => {
      while (performance.now() < deadline) {
        const s = performance.now();
        try {
          await fullSession(port, user, PASSWORD, picks.get(user).small.n);
          latencies.push(performance.now() - s);
        } catch (error) {
          errors.set(error.message, (errors.get(error.message) ?? 0) + 1);
          await sleep(10);
        }
      }
    }),
  );
  return { concurrency: c, elapsed: (performance.now() - t0) / 1000, latencies, errors: Object.fromEntries(errors) };
}

/** One figure from several rounds of a cell: sessions over the time of all rounds, pooled latencies. */
function poolSessions(rounds) {
  const latencies = rounds.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const elapsed = rounds.reduce((sum, r) => sum + r.elapsed, 0);
  const errors = {};
  for (const r of rounds) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
  return {
    concurrency: rounds[0].concurrency,
    rounds: rounds.map((r) => r.latencies.length / r.elapsed),
    sessions: latencies.length,
    perSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors,
  };
}

/** `c` clients, each logged in once, RETR of a 1 MB message over and over until the deadline. */
async function retrThroughput(port, users, picks, c, seconds) {
  const clients = await Promise.all(users.slice(0, c).map((u) => login(port, u, PASSWORD)));
  try {
    let bytes = 0;
    let count = 0;
    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    await Promise.all(
      clients.map(async (client, i) => {
        const { big } = picks.get(users[i]);
        while (performance.now() < deadline) {
          const reply = await client.ok(`RETR ${big.n}`, { multi: true });
          if (reply.bytes < big.size) throw new Error(`RETR returned ${reply.bytes} bytes for a ${big.size}-byte message`);
          bytes += big.size;
          count++;
        }
      }),
    );
    const elapsed = (performance.now() - t0) / 1000;
    await Promise.all(clients.map((client) => client.ok('QUIT')));
    return { concurrency: c, messages: count, bytes, elapsed, mbPerSecond: bytes / 1e6 / elapsed };
  } finally {
    for (const client of clients) client.destroy();
  }
}

/** PASS round trip for each user's first login (and a repeated one). */
async function passLatency(port, users) {
  const times = [];
  for (const user of users) {
    const client = await Pop3Client.connect(port);
    try {
      await client.ok(`USER ${user}`);
      const t0 = performance.now();
      await client.ok(`PASS ${PASSWORD}`);
      times.push(performance.now() - t0);
      await client.ok('QUIT');
    } finally {
      client.destroy();
    }
  }
  return times;
}

/** One session per user: warms indexes and caches, and finds which message numbers to RETR. */
async function warmUp(port, users, fills) {
  const picks = new Map();
  for (let i = 0; i < users.length; i += 16) {
    await Promise.all(
      users.slice(i, i + 16).map(async (user) => {
        const client = await login(port, user, PASSWORD);
        fills?.set(user, performance.now());
        try {
          const list = await client.ok('LIST', { multi: true, keep: true });
          await client.ok('UIDL', { multi: true });
          const pick = pickMessages(list.body);
          if (!pick.small || !pick.big) throw new Error(`${user}: no 10 KB or 1 MB message in LIST`);
          picks.set(user, pick);
          await client.ok('QUIT');
        } finally {
          client.destroy();
        }
      }),
    );
  }
  return picks;
}

/** Opens `n` logged-in sessions (users[0..n)), `parallel` logins at a time; returns the clients. */
async function openIdle(port, users, n, parallel = 32) {
  const clients = [];
  let next = 0;
  let failed = false;
  const t0 = performance.now();
  try {
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < n && !failed && !stopping) {
          const user = users[next++];
          const client = await login(port, user, PASSWORD, { timeoutMs: 60_000 });
          clients.push(client);
          await client.ok('STAT');
        }
      }),
    );
    if (stopping) throw new Error('interrupted');
  } catch (error) {
    failed = true;
    for (const client of clients) client.destroy();
    throw error;
  }
  return { clients, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Writes back dirty pages before each measurement: the setup writes tens of thousands of files
 * and links, and both servers write as they run (Dovecot its index files, Hearth its WAL); a
 * writeback under way slows every write and fsync, and without this whichever target runs after
 * the setup or after another one pays for it.
 */
async function settle() {
  spawnSync('sync');
  await sleep(300);
}

// ---- one server ----------------------------------------------------------------------------------

async function freePort() {
  const s = net.createServer();
  await new Promise((ok, fail) => s.once('error', fail).listen(0, '127.0.0.1', ok));
  const { port } = s.address();
  await new Promise((ok) => s.close(ok));
  return port;
}

/**
 * Hearth's auth cache keeps a successful login for 60 s from the check that filled it (a hit
 * does not extend it). The session cells measure the cached path: before each of Hearth's cells,
 * the cell's users whose entries would run out during it are logged in again, after waiting for
 * those entries to run out, so the scrypt checks happen there, outside the measured time. The
 * first-login row shows what one costs. `u.fills` holds when each user's entry was filled.
 */
const AUTH_CACHE_TTL_MS = 60_000;
async function keepAuthCacheWarm(u, cellUsers, seconds) {
  if (u.fills === undefined) return;
  const horizon = performance.now() + seconds * 1000 + 2000;
  const stale = cellUsers.filter((user) => (u.fills.get(user) ?? -Infinity) + AUTH_CACHE_TTL_MS < horizon);
  if (stale.length === 0) return;
  const expired = Math.max(...stale.map((user) => (u.fills.get(user) ?? 0) + AUTH_CACHE_TTL_MS)) + 100;
  const t0 = performance.now();
  if (expired > t0) await sleep(expired - t0);
  await warmUp(u.port, stale, u.fills);
  console.error(`   (${u.result.label}: auth cache of ${stale.length} users refilled, ${((performance.now() - t0) / 1000).toFixed(1)} s, not measured)`);
}

/**
 * Warm-up (one session per user, then a few seconds of the measured session at 16 clients, not
 * counted: Dovecot starts its processes, Hearth's JIT compiles its hot paths), then PASS latency
 * of first and repeated logins; returns the message picks.
 */
async function prepare(port, users, result, fills) {
  console.error(`   ${result.label}: warm-up, one session per user (${users.session.length}), then ${WARM_UP_SECONDS} s of sessions`);
  const picks = await warmUp(port, users.session, fills);
  await sessionsAt(port, users.session, picks, Math.min(16, users.session.length), WARM_UP_SECONDS);
  result.passFirstMs = await passLatency(port, users.cold);
  result.passRepeatMs = await passLatency(port, users.cold);
  return picks;
}

/**
 * Every throughput cell, target after target (`up`: the running servers), in ROUNDS rounds with
 * the order reversed every other round.
 */
async function benchThroughput(up, users) {
  const cell = async (name, measure, pool, show, cellUsers = []) => {
    const rounds = new Map(up.map((u) => [u, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const u of r % 2 === 0 ? up : [...up].reverse()) {
        if (stopping) throw new Error('interrupted');
        await settle();
        // After settle: its sync can take seconds on a busy disk.
        await keepAuthCacheWarm(u, cellUsers, SECONDS);
        rounds.get(u).push(await measure(u));
      }
    }
    for (const u of up) {
      const figure = pool(rounds.get(u));
      console.error(`   ${name}, ${u.result.label}: ${show(figure)}`);
      u.result[name.startsWith('RETR') ? 'retr' : 'sessions'].push(figure);
    }
  };
  for (const u of up) Object.assign(u.result, { sessions: [], retr: [] });
  for (const c of LEVELS) {
    await cell(`c=${c}`, (u) => sessionsAt(u.port, users.session, u.picks, c, SECONDS), poolSessions, (r) =>
      `${r.perSecond.toFixed(0)} sessions/s (rounds ${r.rounds.map((x) => x.toFixed(0)).join(', ')}), p50 ${r.p50?.toFixed(1)} ms, p99 ${r.p99?.toFixed(1)} ms${Object.keys(r.errors).length ? `, errors ${JSON.stringify(r.errors)}` : ''}`,
      users.session.slice(0, c),
    );
  }
  for (const c of [1, 16]) {
    await cell(
      `RETR 1 MB x${c}`,
      (u) => retrThroughput(u.port, users.session, u.picks, c, Math.max(1, SECONDS / 2)),
      (rounds) => ({
        concurrency: c,
        messages: rounds.reduce((s, r) => s + r.messages, 0),
        mbPerSecond: rounds.reduce((s, r) => s + r.bytes, 0) / 1e6 / rounds.reduce((s, r) => s + r.elapsed, 0),
      }),
      (r) => `${r.mbPerSecond.toFixed(0)} MB/s (${r.messages} messages)`,
    );
  }
}

/** `n` idle sessions on a freshly started server: its memory before (baseline) and with them. */
async function benchIdle(port, users, n, measureMemory) {
  await sleep(1000);
  const before = measureMemory();
  const { clients, seconds } = await openIdle(port, users.idle, n);
  try {
    await sleep(2000);
    const after = measureMemory();
    const perSessionKiB = (after.pss - before.pss) / n;
    console.error(`   ${n} idle sessions (opened in ${seconds.toFixed(1)} s): PSS ${(before.pss / 1024).toFixed(1)} -> ${(after.pss / 1024).toFixed(1)} MiB, RSS ${(after.rss / 1024).toFixed(1)} MiB, ${after.processes} processes; ${perSessionKiB.toFixed(1)} KiB PSS per session`);
    return { n, openSeconds: seconds, before, after, perSessionKiB };
  } finally {
    for (const client of clients) client.destroy();
  }
}

// ---- main ----------------------------------------------------------------------------------------

const scratch = mkdtempSync(join(tmpdir(), 'hearth-bench-pop3-'));
const running = new Set();
let stopping = false;
const cleanup = async () => {
  for (const r of running) await r.stop().catch(() => {});
  running.clear();
  if (!opts.keep) rmSync(scratch, { recursive: true, force: true });
};
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    stopping = true;
    cleanup().finally(() => process.exit(130));
  });
}

const results = [];
let scryptParams;
try {
  if (TARGETS.some((t) => t.startsWith('dovecot'))) ensureDovecot();
  if (!existsSync(join(ROOT, 'packages/cli/dist/main.js'))) throw new Error('build Hearth first: npx tsc -b packages/cli');

  const pad = (n, width) => String(n).padStart(width, '0');
  const users = {
    session: Array.from({ length: SESSION_USERS }, (_, i) => `bench${pad(i + 1, 2)}`),
    cold: Array.from({ length: COLD_USERS }, (_, i) => `cold${i + 1}`),
    idle: Array.from({ length: MAX_IDLE }, (_, i) => `idle${pad(i + 1, 5)}`),
  };
  const small = makeMessages(1000, 10 * 1024, 1);
  const big = makeMessages(5, 1024 * 1024, 1001);
  const mail = [...small, ...big];
  const idleMail = small.slice(0, 10);
  console.error(`scratch ${scratch}; users: ${users.session.length} with ${small.length} x 10 KB + ${big.length} x 1 MB, ${users.idle.length} idle with 10 x 10 KB`);

  const templates = {
    dovecot: readFileSync(join(HERE, 'dovecot/default.conf'), 'utf8'),
    'dovecot-perf': readFileSync(join(HERE, 'dovecot/perf.conf'), 'utf8'),
  };
  const targets = [
    { name: 'hearth', label: 'Hearth' },
    { name: 'dovecot', label: 'Dovecot (default processes)' },
    { name: 'dovecot-perf', label: 'Dovecot (tuned)' },
  ].filter((t) => TARGETS.includes(t.name));

  let t = performance.now();
  if (TARGETS.includes('hearth')) {
    const dataDir = join(scratch, 'hearth');
    scryptParams = await buildStore(ROOT, join(dataDir, 'mail'), [
      { users: users.session, messages: mail },
      { users: users.cold, messages: [] },
      // The idle users' hashes use a low scrypt cost so that creating and logging in 10,000 users
      // takes seconds, not minutes. It changes login time only, not what a session holds.
      { users: users.idle, messages: idleMail, passwordParams: { ln: 4, r: 8, p: 1 } },
    ]);
    console.error(`Hearth store ready in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  let owner;
  if (targets.some((x) => x.name.startsWith('dovecot'))) {
    t = performance.now();
    owner = mailOwner();
    makeCert(join(scratch, 'certs'));
    buildMaildirs(scratch, [
      { users: users.session, messages: mail },
      { users: users.cold, messages: [] },
      { users: users.idle, messages: idleMail },
    ], owner);
    console.error(`Dovecot Maildirs ready in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }

  const start = async (target) => {
    const port = await freePort();
    let server;
    let measureMemory;
    if (target.name === 'hearth') {
      server = await startHearth({ repoRoot: ROOT, dir: scratch, dataDir: join(scratch, 'hearth'), port, maxSessions: MAX_IDLE });
      measureMemory = () => ({ ...memoryOf(server.pop3Pid), processes: 1, supervisor: memoryOf(server.supervisorPid) });
    } else {
      const instance = target.name;
      const config = dovecotConfig(templates[target.name], { root: scratch, port, portTls: await freePort(), owner, maxSessions: MAX_IDLE, instance });
      server = await startDovecot({ dir: scratch, config, port, instance });
      measureMemory = () => treeMemory(server.masterPid);
    }
    running.add(server);
    return { port, server, measureMemory };
  };
  const stop = async (server) => {
    await server.stop();
    running.delete(server);
  };

  // Throughput: every server up at once, each cell measured target after target.
  const up = [];
  try {
    for (const target of targets) {
      if (stopping) break;
      await settle();
      const result = { name: target.name, label: target.label, idle: [] };
      const { port, server } = await start(target);
      up.push({ target, port, server, result, fills: target.name === 'hearth' ? new Map() : undefined });
      try {
        up.at(-1).picks = await prepare(port, users, result, up.at(-1).fills);
      } catch (error) {
        console.error(`   ${target.label} failed: ${error.stack}`);
        process.exitCode = 1;
        up.pop();
        await stop(server);
      }
    }
    console.error(`-- throughput (${ROUNDS} round${ROUNDS > 1 ? 's' : ''} of ${SECONDS} s per target and cell)`);
    await benchThroughput(up, users);
    results.push(...up.map((u) => u.result));
  } catch (error) {
    console.error(`   throughput failed: ${error.stack}`);
    process.exitCode = 1;
  } finally {
    for (const u of up) await stop(u.server);
  }
  // Memory: each idle count on a fresh server, one target at a time, so the baseline is not the
  // heap left by the load above and no other server shares the machine.
  for (const result of results) {
    const target = targets.find((t) => t.name === result.name);
    console.error(`-- ${target.label}: idle sessions`);
    for (const n of IDLE) {
      if (stopping) break;
      try {
        await settle();
        const { port: idlePort, server: idleServer, measureMemory } = await start(target);
        try {
          result.idle.push(await benchIdle(idlePort, users, n, measureMemory));
        } finally {
          await stop(idleServer);
        }
      } catch (error) {
        console.error(`   ${target.label} failed: ${error.stack}`);
        process.exitCode = 1;
      }
    }
  }
} finally {
  await cleanup();
}

// ---- report ------------------------------------------------------------------------------------

const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : '-');
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const lines = [];
const cols = results.map((r) => r.label);
const table = (rows) => {
  lines.push(`| | ${cols.join(' | ')} |`, `| --- | ${cols.map(() => '---:').join(' | ')} |`);
  for (const [name, get] of rows) lines.push(`| ${name} | ${results.map((r) => get(r)).join(' | ')} |`);
};
const at = (r, c) => r.sessions.find((s) => s.concurrency === c);
const idleAt = (r, n) => r.idle.find((x) => x.n === n);
/** (PSS with the most sessions - PSS with the fewest) / the difference: free of the start-up baseline. */
const marginal = (r) => {
  const lo = idleAt(r, Math.min(...IDLE));
  const hi = idleAt(r, MAX_IDLE);
  return lo && hi && hi.n > lo.n ? (hi.after.pss - lo.after.pss) / (hi.n - lo.n) : NaN;
};
table([
  ...LEVELS.flatMap((c) => [
    [`sessions/s, ${c} client${c > 1 ? 's' : ''}`, (r) => f0(at(r, c)?.perSecond)],
    [`  p50 / p99 (ms)`, (r) => `${f1(at(r, c)?.p50)} / ${f1(at(r, c)?.p99)}`],
  ]),
  ...[1, 16].map((c) => [`RETR 1 MB, ${c} client${c > 1 ? 's' : ''} (MB/s)`, (r) => f0(r.retr.find((x) => x.concurrency === c)?.mbPerSecond)]),
  ['PASS, first login of a user (ms, median of 5)', (r) => f1(median(r.passFirstMs))],
  ['PASS, repeated login (ms, median of 5)', (r) => f1(median(r.passRepeatMs))],
  ...IDLE.flatMap((n) => [
    [`${n} idle sessions: PSS total (MiB)`, (r) => f1(idleAt(r, n)?.after.pss / 1024)],
    [`  PSS per session (KiB)`, (r) => f1(idleAt(r, n)?.perSessionKiB)],
    [`  processes`, (r) => idleAt(r, n)?.after.processes ?? '-'],
    [`  time to open them (s)`, (r) => f1(idleAt(r, n)?.openSeconds)],
  ]),
  ...(IDLE.length >= 2
    ? [[`PSS per session between ${Math.min(...IDLE)} and ${MAX_IDLE} sessions (KiB)`, (r) => f1(marginal(r))]]
    : []),
]);
const hearth = results.find((r) => r.name === 'hearth');
const tuned = results.find((r) => r.name === 'dovecot-perf');
if (hearth && tuned) {
  lines.push('', 'Hearth / Dovecot (tuned), with its goals:', '');
  for (const c of LEVELS) {
    const x = at(hearth, c)?.perSecond / at(tuned, c)?.perSecond;
    lines.push(`- sessions/s at ${c}: ${x.toFixed(2)}x (goal >= 3x: ${x >= 3 ? 'met' : 'missed'})`);
  }
  for (const c of [1, 16]) {
    const x = hearth.retr.find((r) => r.concurrency === c).mbPerSecond / tuned.retr.find((r) => r.concurrency === c).mbPerSecond;
    lines.push(`- RETR 1 MB at ${c}: ${x.toFixed(2)}x (goal >= 0.8x: ${x >= 0.8 ? 'met' : 'missed'})`);
  }
  for (const n of IDLE) {
    const h = idleAt(hearth, n);
    const d = idleAt(tuned, n);
    if (!h || !d) continue;
    const x = h.perSessionKiB / d.perSessionKiB;
    const total = h.after.pss / d.after.pss;
    lines.push(`- memory per idle session at ${n}: ${x.toFixed(3)}x (goal <= 0.1x: ${x <= 0.1 ? 'met' : 'missed'}); total PSS ${total.toFixed(3)}x`);
  }
  if (IDLE.length >= 2) {
    const x = marginal(hearth) / marginal(tuned);
    lines.push(`- memory per idle session between ${Math.min(...IDLE)} and ${MAX_IDLE}: ${x.toFixed(3)}x (goal <= 0.1x: ${x <= 0.1 ? 'met' : 'missed'})`);
  }
}
if (hearth) {
  const p = scryptParams ?? { ln: 15, r: 8, p: 1 };
  lines.push(
    '',
    `Password schemes: Hearth stores scrypt hashes (N=2^${p.ln}, r=${p.r}, p=${p.p}) for the measured users and checks`,
    'a login against its auth cache (HMAC, 60 s) after the first; the idle users were created with N=2^4',
    'so that 10,000 logins take seconds. Dovecot reads {PLAIN} passwords from a passwd-file (no hashing, no cache).',
    `Hearth's memory is its pop3 process alone (the supervisor \`hearth up\`, PSS ${f1(hearth.idle.at(-1)?.after.supervisor?.pss / 1024)} MiB, is not counted);`,
    "Dovecot's is the sum over its master and every child process.",
  );
}
const report = lines.join('\n');
console.log(report);
if (opts.json) writeFileSync(opts.json, `${JSON.stringify({ seconds: SECONDS, rounds: ROUNDS, results }, null, 2)}\n`);
