#!/usr/bin/env node
/**
 * biff/POP3 push benchmark: latency from the SMTP 250 reply to the `* NEW` line at a waiting POP3
 * XIDLE session, with 1, 1,000 and 10,000 idle push sessions (distinct users); the time for one
 * SMTP delivery to 10,000 recipients to reach all 10,000 sessions; biff's and POP3's RSS with the
 * sessions open. Loopback, the whole suite under `hearth up`. Next to each fan-out, the same run
 * measures its floor on this machine (floor.mjs: a bare Node process writing one line to each of
 * N sockets, read by a client like this one) and prints Hearth's time as a ratio of it.
 *
 *   node bench/biff/run.mjs [--sizes 1,1000,10000] [--samples 300]
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { BIFF_MODULE, addUsers, pop3Waiting, startSuite } from '../../packages/testkit/dist/suite.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
import { floorFanout } from './floor.mjs';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '1,1000,10000' }, samples: { type: 'string', default: '300' } } });
const sizes = values.sizes.split(',').map(Number);
const samples = Number(values.samples);

const progress = (s) => process.stderr.write(`  ${s}\n`);
let current;
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => void (current?.stop() ?? Promise.resolve()).then(() => process.exit(130)));

const rssMb = (pid) => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** A lock-step SMTP conversation: `cmd(line)` resolves with the final reply line. */
async function smtp(port) {
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
  socket.setEncoding('latin1');
  let buf = '';
  let waiter;
  socket.on('data', (d) => {
    buf += d;
    const m = /(^|\n)(\d{3}) [^\n]*\n/.exec(buf);
    if (m && waiter) {
      const line = buf.slice(0, m.index + m[0].length);
      buf = buf.slice(m.index + m[0].length);
      const w = waiter;
      waiter = undefined;
      w(line);
    }
  });
  const cmd = (line) =>
    new Promise((resolve) => {
      waiter = resolve;
      if (line !== null) socket.write(line + '\r\n');
    });
  await cmd(null);
  await cmd('EHLO bench.localhost');
  return { cmd, close: () => socket.destroy() };
}

/**
 * Whether `session` has `count` push lines by `deadline` (default: 5 s from now). The session
 * records when each line came as it arrives (`arrivals()`) and wakes this wait from its data
 * handler: the client sleeps meanwhile (a polling client would take a core from the services).
 */
const arrived = (session, count, deadline = performance.now() + 5000) => session.waitCount(count, deadline - performance.now());

async function pool(n, width, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await fn(next++);
  }));
}

async function cell(n) {
  const users = Array.from({ length: n }, (_, i) => `u${i}`);
  const suite = await startSuite(
    `services:
  biff:
    module: ${JSON.stringify(BIFF_MODULE)}
    listen: { comsat: { protocol: udp, port: 0 } }
  smtp:
    service: smtp
    listen: { mx: { port: 0 } }
    settings: { maxRecipients: 20000 }
    requires: [biff]
  pop3:
    service: pop3
    listen: { pop3: { port: 0 } }
    settings: { maxConnections: 20000, maxConnectionsPerIp: 20000 }
    requires: [biff]
`,
    {
      prepare: async (data) => {
        const t = performance.now();
        await addUsers(data, users, 'pw-bench');
        progress(`${n} users added in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      },
      timeout: 60_000,
    },
  );
  current = suite;
  const sessions = new Map();
  try {
    const rows = await suite.status();
    const port = (svc, l) => rows.find((r) => r.name === svc).listeners.find((x) => x.name === l).port;
    const pid = (svc) => rows.find((r) => r.name === svc).pid;
    const before = { biff: rssMb(pid('biff')), pop3: rssMb(pid('pop3')) };
    const t0 = performance.now();
    await pool(n, 100, async (i) => {
      sessions.set(users[i], await pop3Waiting(port('pop3', 'pop3'), users[i], 'pw-bench'));
      if (sessions.size % 1000 === 0) progress(`${sessions.size} sessions waiting (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    });
    const loginS = (performance.now() - t0) / 1000;
    await sleep(500);
    const rss = { biff: rssMb(pid('biff')), pop3: rssMb(pid('pop3')) };

    const client = await smtp(port('smtp', 'mx'));
    const lat = [];
    let missed = 0;
    const seen = new Map(users.map((u) => [u, 0]));
    for (let i = 0; i < samples; i++) {
      const user = users[Math.floor(Math.random() * n)];
      const session = sessions.get(user);
      const want = seen.get(user) + 1;
      await client.cmd('MAIL FROM:<bench@localhost>');
      await client.cmd(`RCPT TO:<${user}@localhost>`);
      await client.cmd('DATA');
      const reply = await client.cmd(`Subject: bench ${i}\r\n\r\nhello\r\n.`);
      const at = performance.now();
      if (!reply.startsWith('250')) throw new Error(`SMTP: ${reply}`);
      seen.set(user, want);
      if (!(await arrived(session, want))) {
        missed++;
        continue;
      }
      lat.push(Math.max(0, session.arrivals()[want - 1] - at)); // the push may beat the 250
    }

    let fanout;
    if (n >= 1000) {
      await client.cmd('MAIL FROM:<bench@localhost>');
      for (const u of users) await client.cmd(`RCPT TO:<${u}@localhost>`);
      await client.cmd('DATA');
      // One counter over all sessions, set before the body goes (a push may beat the 250), not a
      // wait per session: the client must take as little CPU from the suite as it can.
      const stamps = [];
      const all = new Promise((resolve) => {
        for (const session of sessions.values()) session.onPush((t) => stamps.push(t) === n && resolve());
      });
      const reply = await client.cmd('Subject: everyone\r\n\r\nhello all\r\n.');
      const at = performance.now();
      if (!reply.startsWith('250')) throw new Error(`SMTP: ${reply}`);
      let timer;
      await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
      clearTimeout(timer);
      for (const session of sessions.values()) session.onPush(undefined);
      const times = stamps.map((t) => t - at).sort((a, b) => a - b);
      const lost = n - times.length;
      fanout = lost === 0 ? { first: times[0], median: pct(times, 50), last: times.at(-1) } : `${lost} missed`;
    }
    client.close();
    return { n, loginS, p50: pct(lat, 50), p99: pct(lat, 99), fanout, rss, before, missed };
  } finally {
    for (const s of sessions.values()) s.close();
    await suite.stop();
  }
}

const ms = (x) => (x < 0 ? 0 : x).toFixed(0);

console.log(`biff push latency: SMTP 250 -> "* NEW" at the waiting POP3 session (${samples} samples per cell)`);
console.log('fan-out: one delivery to every user, first / median / last "* NEW" after its 250; floor: bare Node, one line to each of N sockets');
console.log('sessions  p50 ms  p99 ms  fan-out ms (first/median/last)  floor ms  ratio  biff RSS MB  pop3 RSS MB  (logins s)');
for (const n of sizes) {
  const r = await cell(n);
  const f = r.fanout;
  const floor = typeof f === 'object' ? await floorFanout(n) : undefined;
  const fan = f === undefined ? '-' : typeof f === 'object' ? `${ms(f.first)} / ${ms(f.median)} / ${ms(f.last)}` : f;
  console.log(
    `${String(r.n).padStart(8)}  ${r.p50.toFixed(2).padStart(6)}  ${r.p99.toFixed(2).padStart(6)}  ${fan.padStart(30)}  ${(floor ? ms(floor.last) : '-').padStart(8)}  ${(floor ? (f.last / floor.last).toFixed(2) : '-').padStart(5)}  ${r.rss.biff.toFixed(0).padStart(11)}  ${r.rss.pop3.toFixed(0).padStart(11)}  (${r.loginS.toFixed(1)})${r.missed ? `  ${r.missed} samples got no push within 5 s` : ''}`,
  );
}
