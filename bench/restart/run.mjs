// Restarts under load: Hearth (overlapped `hearth restart`, kill -9 recovery) against PM2
// cluster-mode `reload` and supervisord `restart`, on the same tiny fixture, in one run.
// Usage: node bench/restart/run.mjs [--seconds 8] [--loops 16] [--restarts 5]
// Loopback only; everything it starts is stopped at the end (temp dirs removed).
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { freePort, oneConnection, percentile, startLoad, waitFor } from '@hearth/testkit';
import { restartEvenly } from './schedule.mjs';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const HEARTH = join(ROOT, 'packages/cli/dist/main.js');
const SUPERVISOR = join(ROOT, 'packages/supervisor/dist/index.js');
const PM2 = join(HERE, '..', 'node_modules/.bin/pm2');
const SERVER = join(HERE, 'tiny-server.cjs');

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '8' }, loops: { type: 'string', default: '16' }, restarts: { type: 'string', default: '5' } },
});
const SECONDS = Number(values.seconds);
const LOOPS = Number(values.loops);
const RESTARTS = Number(values.restarts);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cleanups = [];
const tmp = mkdtempSync(join(tmpdir(), 'hearth-bench-restart-'));
cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));

/** Load for SECONDS; `restart()` is called RESTARTS times, evenly spaced. Returns the figures. */
async function measure(port, restart) {
  const load = startLoad({ port, loops: LOOPS, durationMs: SECONDS * 1000, timeoutMs: 10_000 });
  const windows = restart ? await restartEvenly(SECONDS * 1000, RESTARTS, restart) : [];
  const r = await load.done;
  const all = r.samples.map((s) => s.ms);
  // A connection overlaps a restart window when it was open at any time during it.
  const during = r.samples.filter((s) => windows.some(([a, b]) => s.at <= b && s.at + s.ms >= a)).map((s) => s.ms);
  return {
    total: r.total,
    failed: r.failed,
    counts: Object.fromEntries(Object.entries(r.counts).filter(([k, v]) => k !== 'ok' && v > 0)),
    perSecond: r.total / (r.elapsedMs / 1000),
    p99: percentile(all, 99),
    max: Math.max(0, ...all),
    p99During: percentile(during, 99),
    maxDuring: Math.max(0, ...during),
    restartMs: windows.map(([a, b]) => b - a),
  };
}

/** Time from SIGKILL of `pid()` until a connection is answered by a new process, `n` times. */
async function killRecovery(port, pid, n = 5) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const old = await pid();
    const at = performance.now();
    process.kill(old, 'SIGKILL');
    for (;;) {
      const s = await oneConnection({ port, timeoutMs: 10_000 });
      if (s.outcome === 'ok' && s.line !== `hello ${old}`) break;
      if (s.outcome !== 'ok') await sleep(1);
      if (performance.now() - at > 15_000) throw new Error('no recovery within 15 s');
    }
    times.push(performance.now() - at);
    await sleep(300);
  }
  return times;
}

/** Resident and proportional set size of a process, in MiB (from /proc/PID/smaps_rollup). */
function memMiB(pid) {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: kb('Rss') / 1024, pss: kb('Pss') / 1024 };
}

/** `hearth up` on `services` (YAML lines under `services:`); returns its status function and stop. */
async function hearthUp(name, services) {
  const { controlRequest } = await import(SUPERVISOR);
  const dir = join(tmp, name);
  const config = join(tmp, `${name}.yaml`);
  writeFileSync(config, `log: { level: warn }\nservices:\n${services}`);
  const up = spawn(process.execPath, [HEARTH, 'up', '--config', config, '--data', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  cleanups.push(() => up.kill('SIGTERM'));
  const sock = join(dir, 'hearth.sock');
  const status = async (svc = 'tiny') => (await controlRequest(sock, { verb: 'status' })).find((s) => s.name === svc);
  const stop = async () => {
    up.kill('SIGTERM');
    await new Promise((r) => up.once('close', r));
  };
  return { sock, status, stop, request: (req) => controlRequest(sock, req) };
}

const tinyService = (port, extra = '') =>
  `  tiny:\n    module: ${join(HERE, 'tiny-hearth.mjs')}\n    listen: { main: { port: ${port} } }\n    stopTimeout: 5s\n    backoff: { stable: 250ms }\n    crashLoop: { failures: 20 }\n${extra}`;

/**
 * Hearth with its default warm standby: restarts under load, then kill -9 recovery, each kill
 * once the new standby stands by (what a crash meets on a service that has been up a while).
 */
async function hearth() {
  const port = await freePort();
  const h = await hearthUp('hearth', tinyService(port));
  await waitFor(async () => (await h.status().catch(() => undefined))?.state === 'running', { timeout: 15_000 });
  const baseline = await measure(port, undefined);
  const restarts = await measure(port, () => h.request({ verb: 'restart', name: 'tiny' }));
  const standing = async () => {
    const s = await waitFor(async () => {
      const st = await h.status();
      return st.state === 'running' && st.standbyPid !== null ? st : undefined;
    }, { timeout: 30_000 });
    return s;
  };
  const s = await standing();
  const rss = { active: memMiB(s.pid), standby: memMiB(s.standbyPid) };
  const kill9 = await killRecovery(port, async () => (await standing()).pid, 10);
  await h.stop();
  return { baseline, restarts, kill9, rss };
}

/** The same kill -9 recovery without a standby (`standby: false`): a cold Node start each time. */
async function hearthCold() {
  const port = await freePort();
  const h = await hearthUp('hearth-cold', tinyService(port, '    standby: false\n'));
  const running = async () => (await waitFor(async () => ((await h.status().catch(() => undefined))?.state === 'running' ? h.status() : undefined), { timeout: 15_000 })).pid;
  await running();
  const kill9 = await killRecovery(port, running, 10);
  await h.stop();
  return { kill9 };
}

/** RSS of a running pop3 and of its standby (store opened only by the running one). */
async function pop3Memory() {
  const h = await hearthUp('hearth-pop3', `  pop3:\n    service: pop3\n    listen: { pop3: { port: 0 }, pop3s: { port: 0, tls: true } }\n`);
  const s = await waitFor(async () => {
    const st = await h.status('pop3').catch(() => undefined);
    return st?.state === 'running' && st.standbyPid !== null ? st : undefined;
  }, { timeout: 60_000 });
  const rss = { active: memMiB(s.pid), standby: memMiB(s.standbyPid) };
  await h.stop();
  return rss;
}

async function pm2() {
  const port = await freePort();
  const env = { ...process.env, PM2_HOME: join(tmp, 'pm2'), PORT: String(port) };
  const pm = (...args) => run(PM2, args, { env });
  cleanups.push(() => run(PM2, ['kill'], { env }).catch(() => {}));
  await pm('start', SERVER, '--name', 'tiny', '-i', '1', '--wait-ready', '--listen-timeout', '5000');
  await waitFor(async () => (await oneConnection({ port, timeoutMs: 1000 })).outcome === 'ok', { timeout: 15_000 });
  const baseline = await measure(port, undefined);
  const restarts = await measure(port, () => pm('reload', 'tiny'));
  await pm('kill');
  return { baseline, restarts };
}

async function supervisord() {
  const port = await freePort();
  const dir = join(tmp, 'supervisord');
  rmSync(dir, { recursive: true, force: true });
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'supervisord.conf');
  writeFileSync(
    conf,
    `[unix_http_server]
file=${dir}/supervisor.sock
[supervisord]
logfile=${dir}/supervisord.log
pidfile=${dir}/supervisord.pid
nodaemon=true
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://${dir}/supervisor.sock
[program:tiny]
command=${process.execPath} ${SERVER}
environment=PORT="${port}"
autorestart=true
startsecs=0
stopsignal=TERM
stopwaitsecs=5
stdout_logfile=${dir}/tiny.log
redirect_stderr=true
`,
  );
  const sd = spawn('supervisord', ['-c', conf], { stdio: 'ignore' });
  cleanups.push(() => sd.kill('SIGTERM'));
  const ctl = (...args) => run('supervisorctl', ['-c', conf, ...args]);
  await waitFor(async () => (await oneConnection({ port, timeoutMs: 1000 })).outcome === 'ok', { timeout: 15_000 });
  const baseline = await measure(port, undefined);
  const restarts = await measure(port, () => ctl('restart', 'tiny'));
  const kill9 = await killRecovery(port, async () => Number((await ctl('pid', 'tiny')).stdout.trim()), 3);
  sd.kill('SIGTERM');
  await new Promise((r) => sd.once('close', r));
  return { baseline, restarts, kill9 };
}

const f = (n) => n.toFixed(1);
function row(name, r) {
  const ratio = r.restarts.perSecond / r.baseline.perSecond;
  return `| ${name} | ${r.restarts.failed} ${Object.keys(r.restarts.counts).length ? JSON.stringify(r.restarts.counts) : ''} | ${f(r.restarts.p99)} | ${f(r.restarts.maxDuring)} | ${f(r.restarts.p99During)} | ${Math.round(r.baseline.perSecond)} | ${Math.round(r.restarts.perSecond)} | ${ratio.toFixed(2)} | ${r.kill9 ? `${f(Math.min(...r.kill9))} / ${f(percentile(r.kill9, 50))} / ${f(Math.max(...r.kill9))}` : '-'} |`;
}

try {
  console.error(`restart bench: ${LOOPS} loops of short connections, ${SECONDS} s per run, ${RESTARTS} restarts`);
  const results = {};
  results.hearth = await hearth();
  console.error('hearth done');
  const cold = await hearthCold();
  console.error('hearth (standby: false) done');
  const pop3 = await pop3Memory().catch((err) => ({ error: err.message }));
  results.pm2 = await pm2().catch((err) => ({ error: err.message }));
  console.error('pm2 done');
  results.supervisord = await supervisord().catch((err) => ({ error: err.message }));
  console.error('supervisord done');
  console.log('| peer | failed during restarts | p99 ms | max ms during restarts | p99 ms during restarts | conn/s without | conn/s with restarts | ratio | kill -9 to served ms (min / median / max) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const [name, r] of Object.entries(results)) console.log(r.error ? `| ${name} | error: ${r.error} |` : row(name, r));
  const h = results.hearth;
  console.log(
    `\nGoals (hearth): 0 failed: ${h.restarts.failed === 0 ? 'yes' : 'NO'}; max latency during restarts < 100 ms: ${h.restarts.maxDuring < 100 ? 'yes' : 'NO'} (${f(h.restarts.maxDuring)}); throughput >= 0.9x: ${h.restarts.perSecond / h.baseline.perSecond >= 0.9 ? 'yes' : 'NO'}; kill -9 served again within 50 ms: ${Math.max(...h.kill9) < 50 ? 'yes' : 'NO'} (max ${f(Math.max(...h.kill9))})`,
  );
  console.log(`hearth restart command durations (ms): ${h.restarts.restartMs.map((x) => Math.round(x)).join(', ')}`);
  const mmm = (xs) => `${f(Math.min(...xs))} / ${f(percentile(xs, 50))} / ${f(Math.max(...xs))}`;
  console.log(`kill -9 to served ms (min / median / max): with the warm standby ${mmm(h.kill9)}; standby: false (cold start) ${mmm(cold.kill9)}`);
  const mem = (m) => `${f(m.rss)} (PSS ${f(m.pss)})`;
  console.log(`memory MiB, RSS (PSS): tiny fixture active ${mem(h.rss.active)}, standby ${mem(h.rss.standby)}; ${pop3.error ? `pop3: error ${pop3.error}` : `pop3 active ${mem(pop3.active)}, standby ${mem(pop3.standby)}`}`);
} finally {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch {
      // best effort
    }
  }
}
