#!/usr/bin/env node
/**
 * Supervisor benchmark: Hearth next to supervisord and PM2 (fork mode), in one run, on
 * loopback. Each supervisor runs 10 copies of the same trivial TCP server (`server.cjs`, one line
 * `ok <pid>` per connection); Hearth also runs 10 `module:` fixture services, whose listeners the
 * supervisor binds once and hands to each new instance.
 *
 * Measured per supervisor:
 *   - ready: from spawning the supervisor to all 10 ports answering (each polled every 1 ms);
 *   - first restart: kill -9 of a service's process (one kill each for services 1..5) to a reply
 *     from the new process, connecting every 1 ms;
 *   - successive restarts: 4 kills of service 0, 1.5 s apart (backoff shows here);
 *   - RSS (and PSS) of the supervisor process itself: `hearth up`, supervisord, PM2's God daemon.
 *
 * The supervised program is `node server.cjs` by default; `--server perl` runs the same server in
 * Perl (server.pl), which serves a few ms after exec: its restart figures are the supervisors' own.
 *
 * usage: node bench/supervisor/run.mjs [--only hearth,hearth-module,supervisord,pm2] [--server node|perl] [--json FILE]
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { alive, memoryOf, waitExit } from '../lib/processes.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const SERVER_JS = join(HERE, 'server.cjs');
const SERVER_PL = join(HERE, 'server.pl');
const FIXTURE = join(ROOT, 'packages/testkit/dist/fixtures/fixture-service.js');
const HEARTH = join(ROOT, 'packages/cli/dist/main.js');
const PM2 = join(ROOT, 'bench/node_modules/pm2/bin/pm2');

const SERVICES = 10;
const FIRST_KILLS = 5; // services 1..5, one kill each
const REPEAT_KILLS = 4; // service 0; Hearth's crash-loop detector trips at the 5th failure in 60 s
const SETTLE_MS = 1500; // > supervisord's startsecs (1 s) and PM2's min_uptime (1 s)
const READY_TIMEOUT_MS = 30_000;
const RESTART_TIMEOUT_MS = 15_000;

const { values: opts } = parseArgs({
  options: {
    only: { type: 'string', default: 'hearth,hearth-module,supervisord,pm2' },
    server: { type: 'string', default: 'node' },
    json: { type: 'string' },
  },
});

if (!['node', 'perl'].includes(opts.server)) {
  console.error('--server: node (server.cjs, the default) or perl (server.pl: starts in a few ms, so a restart shows the supervisor\'s own time)');
  process.exit(64);
}
const SERVER = opts.server === 'perl' ? SERVER_PL : SERVER_JS;
const INTERPRETER = opts.server === 'perl' ? 'perl' : process.execPath;
const SERVER_NAME = opts.server === 'perl' ? 'perl server.pl' : 'node server.cjs';

// ---- probing -----------------------------------------------------------------------------------

/** One connection: the pid in the server's reply line, or null (refused, reset, closed, timeout). */
function probe(port, timeoutMs) {
  return new Promise((done) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let text = '';
    const finish = (pid) => {
      clearTimeout(timer);
      socket.destroy();
      done(pid);
    };
    const timer = setTimeout(() => finish(null), Math.max(1, timeoutMs));
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      text += chunk;
      const m = /^(?:ok|hello) (\d+)\n/.exec(text);
      if (m) finish(Number(m[1]));
    });
    socket.on('error', () => finish(null));
    socket.on('close', () => finish(null));
  });
}

/** Connects every 1 ms until a process other than `notPid` answers; resolves its pid. */
async function waitServing(port, deadline, notPid) {
  for (;;) {
    const left = deadline - performance.now();
    if (left <= 0) throw new Error(`port ${port}: not served within the time limit`);
    const pid = await probe(port, left);
    if (pid !== null && pid !== notPid) return pid;
    await sleep(1);
  }
}

async function freePorts(n) {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise((ok, fail) => {
      const s = net.createServer();
      s.once('error', fail);
      s.listen(0, '127.0.0.1', () => ok(s));
    })),
  );
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
  return ports;
}

// ---- processes ---------------------------------------------------------------------------------

/** The memory figures of one process in MiB (NaN once it is gone). */
function memoryMiB(pid) {
  const m = memoryOf(pid);
  const mib = (kib) => (m === undefined ? NaN : kib / 1024);
  return { rssMiB: mib(m?.rss), pssMiB: mib(m?.pss), anonMiB: mib(m?.anon), fileMiB: mib(m?.file) };
}

/** SIGKILLs a service process we saw answering, if it still runs one of our servers. */
function killOurs(pid) {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmd.includes(SERVER) || cmd.includes('fixture-service') || cmd.includes('launch')) process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

function spawnLogged(cmd, args, logFile, env = process.env) {
  const fd = openSync(logFile, 'a');
  return spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env });
}

/** Stops a supervisor we spawned: SIGTERM, then SIGKILL of its process group. */
async function stopSpawned(child, graceMs = 15_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitExit(child.pid, graceMs)) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

// ---- the supervisors ---------------------------------------------------------------------------

const yamlString = (s) => JSON.stringify(s);

const hearthCommand = {
  name: 'hearth',
  label: 'hearth (command:)',
  async start(dir, ports) {
    const lines = ['log: { level: warn }', 'services:'];
    ports.forEach((port, i) => {
      lines.push(`  s${i}:`);
      lines.push(`    command: [${yamlString(INTERPRETER)}, ${yamlString(SERVER)}, "${port}"]`);
      lines.push(`    ready: { tcp: "127.0.0.1:${port}" }`);
    });
    return startHearth(dir, lines);
  },
};

const hearthModule = {
  name: 'hearth-module',
  label: 'hearth (module:, held socket)',
  async start(dir, ports) {
    const lines = ['log: { level: warn }', 'services:'];
    ports.forEach((port, i) => {
      lines.push(`  s${i}:`);
      lines.push(`    module: ${yamlString(FIXTURE)}`);
      lines.push(`    listen: { main: { address: 127.0.0.1, port: ${port} } }`);
    });
    return startHearth(dir, lines);
  },
};

function startHearth(dir, lines) {
  const config = join(dir, 'hearth.yaml');
  writeFileSync(config, `${lines.join('\n')}\n`);
  const child = spawnLogged(process.execPath, [HEARTH, 'up', '--config', config, '--data', join(dir, 'data')], join(dir, 'hearth.log'));
  return { supervisorPid: () => child.pid, stop: () => stopSpawned(child), child };
}

const supervisord = {
  name: 'supervisord',
  label: 'supervisord',
  async start(dir, ports) {
    const sock = join(dir, 'supervisor.sock');
    const text = [
      '[unix_http_server]',
      `file=${sock}`,
      '[rpcinterface:supervisor]',
      'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
      '[supervisorctl]',
      `serverurl=unix://${sock}`,
      '[supervisord]',
      'nodaemon=true',
      `logfile=${join(dir, 'supervisord.log')}`,
      `pidfile=${join(dir, 'supervisord.pid')}`,
      `childlogdir=${dir}`,
      ...ports.flatMap((port, i) => [
        `[program:s${i}]`,
        `command=${INTERPRETER} ${SERVER} ${port}`,
        'autorestart=true',
        `stdout_logfile=${join(dir, `s${i}.log`)}`,
        'redirect_stderr=true',
      ]),
    ].join('\n');
    const config = join(dir, 'supervisord.conf');
    writeFileSync(config, `${text}\n`);
    const child = spawnLogged('supervisord', ['-n', '-c', config], join(dir, 'supervisord.out'));
    return { supervisorPid: () => child.pid, stop: () => stopSpawned(child), child };
  },
};

const pm2 = {
  name: 'pm2',
  label: 'PM2 (fork)',
  async start(dir, ports) {
    const env = { ...process.env, PM2_HOME: join(dir, 'pm2'), PM2_DISABLE_VERSION_CHECK: 'true' };
    const apps = ports.map((port, i) => ({
      name: `s${i}`,
      script: SERVER,
      args: String(port),
      exec_mode: 'fork',
      interpreter: INTERPRETER,
      autorestart: true,
    }));
    const eco = join(dir, 'ecosystem.config.cjs');
    writeFileSync(eco, `module.exports = ${JSON.stringify({ apps }, null, 2)};\n`);
    const cli = spawnLogged(process.execPath, [PM2, 'start', eco], join(dir, 'pm2.out'), env);
    const godPid = () => Number(readFileSync(join(env.PM2_HOME, 'pm2.pid'), 'utf8').trim());
    return {
      supervisorPid: godPid,
      async stop() {
        await new Promise((ok) => (cli.exitCode !== null ? ok() : cli.once('exit', ok)));
        spawnSync(process.execPath, [PM2, 'kill'], { env, stdio: 'ignore', timeout: 20_000 });
        try {
          const pid = godPid();
          if (!(await waitExit(pid, 5000))) process.kill(pid, 'SIGKILL');
        } catch {
          // no daemon
        }
      },
      child: cli,
    };
  },
};

const ALL = [hearthCommand, hearthModule, supervisord, pm2];

// ---- peers -------------------------------------------------------------------------------------

function ensurePeers(names) {
  if (names.includes('supervisord') && spawnSync('sh', ['-c', 'command -v supervisord']).status !== 0) {
    console.error('installing supervisor (apt-get)...');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    const r = spawnSync('apt-get', ['install', '-y', '-qq', 'supervisor'], { stdio: 'inherit', env });
    if (r.status !== 0) throw new Error('apt-get install supervisor failed');
  }
  if (names.includes('pm2') && !existsSync(PM2)) {
    console.error('installing bench dependencies (pm2)...');
    // The pnpm the repository pins (package.json's packageManager), as the README runs it.
    const { packageManager } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const r = spawnSync('npx', ['-y', packageManager, 'install', '--filter', '@hearth/bench...'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0 || !existsSync(PM2)) throw new Error('pnpm install of bench/ failed');
  }
  if (!existsSync(HEARTH) || !existsSync(FIXTURE)) throw new Error('build Hearth first: npx tsc -b packages/cli packages/testkit');
}

// ---- one supervisor ----------------------------------------------------------------------------

async function restartTime(port, pid) {
  const t0 = performance.now();
  process.kill(pid, 'SIGKILL');
  const next = await waitServing(port, t0 + RESTART_TIMEOUT_MS, pid);
  return { ms: performance.now() - t0, pid: next };
}

async function measure(sup, seen) {
  const dir = mkdtempSync(join(tmpdir(), `hearth-bench-${sup.name}-`));
  const ports = await freePorts(SERVICES);
  const result = { name: sup.name, label: sup.label };
  const t0 = performance.now();
  const running = await sup.start(dir, ports);
  const onSignal = async () => {
    await running.stop();
    for (const pid of seen) if (alive(pid)) killOurs(pid);
    process.exit(130);
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    const deadline = t0 + READY_TIMEOUT_MS;
    const pids = await Promise.all(ports.map(async (port) => {
      const pid = await waitServing(port, deadline);
      seen.add(pid);
      return pid;
    }));
    result.readyMs = performance.now() - t0;
    await sleep(2000);
    const supPid = running.supervisorPid();
    result.memory = memoryMiB(supPid);

    result.firstRestartMs = [];
    for (let i = 1; i <= FIRST_KILLS; i++) {
      const r = await restartTime(ports[i], pids[i]);
      seen.add(r.pid);
      pids[i] = r.pid;
      result.firstRestartMs.push(r.ms);
      await sleep(SETTLE_MS);
    }
    result.repeatRestartMs = [];
    for (let k = 0; k < REPEAT_KILLS; k++) {
      const r = await restartTime(ports[0], pids[0]);
      seen.add(r.pid);
      pids[0] = r.pid;
      result.repeatRestartMs.push(r.ms);
      await sleep(SETTLE_MS);
    }
    result.memoryAfter = memoryMiB(supPid);
    return result;
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await running.stop();
    for (const pid of seen) if (alive(pid)) killOurs(pid);
    if (result.readyMs !== undefined) rmSync(dir, { recursive: true, force: true });
    else console.error(`${sup.label}: logs kept in ${dir}`);
  }
}

/** The floor under every restart: spawning the server directly until it answers. */
async function bareStartMs(runs = 5) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const [port] = await freePorts(1);
    const t0 = performance.now();
    const child = spawn(INTERPRETER, [SERVER, String(port)], { stdio: 'ignore' });
    try {
      await waitServing(port, t0 + RESTART_TIMEOUT_MS);
      times.push(performance.now() - t0);
    } finally {
      child.kill('SIGKILL');
    }
  }
  return times;
}

/** The memory floor of a Node supervisor: an idle `node` that has loaded nothing. */
async function bareNodeMemory() {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10_000)'], { stdio: 'ignore' });
  try {
    await sleep(1000);
    return memoryMiB(child.pid);
  } finally {
    child.kill('SIGKILL');
  }
}

// ---- report ------------------------------------------------------------------------------------

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : '-');
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const ratio = (x, base) => (Number.isFinite(x) && base > 0 ? `${(x / base).toFixed(2)}x` : '-');

function report(results) {
  const cols = results.map((r) => r.label);
  const rows = [
    ['all 10 ready after start (ms)', (r) => r.readyMs, f0],
    ['first restart, median of 5 services (ms)', (r) => median(r.firstRestartMs), f1],
    ['first restart, min–max (ms)', (r) => `${f1(Math.min(...r.firstRestartMs))}–${f1(Math.max(...r.firstRestartMs))}`, String],
    ['4 kills of one service, 1.5 s apart (ms)', (r) => r.repeatRestartMs.map(f0).join(' / '), String],
    ['  median of those 4 (ms)', (r) => median(r.repeatRestartMs), f0],
    ['supervisor RSS after start (MiB)', (r) => r.memory.rssMiB, f1],
    ['supervisor PSS after start (MiB)', (r) => r.memory.pssMiB, f1],
    ['  RSS: anonymous / file-backed (MiB)', (r) => `${f1(r.memory.anonMiB)} / ${f1(r.memory.fileMiB)}`, String],
    ['supervisor RSS after the restarts (MiB)', (r) => r.memoryAfter.rssMiB, f1],
  ];
  const out = [];
  out.push(`| | ${cols.join(' | ')} |`);
  out.push(`| --- | ${cols.map(() => '---:').join(' | ')} |`);
  for (const [name, get, fmt] of rows) out.push(`| ${name} | ${results.map((r) => fmt(get(r))).join(' | ')} |`);

  const base = results.find((r) => r.name === 'hearth');
  if (base) {
    const peers = results.filter((r) => r !== base);
    out.push('', `Ratios, other / ${base.label} (above 1: Hearth is faster or smaller):`, '');
    out.push(`| | ${peers.map((r) => r.label).join(' | ')} |`);
    out.push(`| --- | ${peers.map(() => '---:').join(' | ')} |`);
    const ratioRows = [
      ['ready', (r) => r.readyMs],
      ['first restart (median)', (r) => median(r.firstRestartMs)],
      ['successive restarts (median)', (r) => median(r.repeatRestartMs)],
      ['supervisor RSS', (r) => r.memory.rssMiB],
    ];
    for (const [name, get] of ratioRows) out.push(`| ${name} | ${peers.map((r) => ratio(get(r), get(base))).join(' | ')} |`);
  }
  const goals = results.filter((r) => r.name.startsWith('hearth')).map((r) => {
    const first = median(r.firstRestartMs);
    return `${r.label}: first restart ${f1(first)} ms (goal <= 50: ${first <= 50 ? 'met' : 'MISSED'}), RSS ${f1(r.memory.rssMiB)} MiB (goal <= 40: ${r.memory.rssMiB <= 40 ? 'met' : 'MISSED'})`;
  });
  out.push('', ...goals);
  return out.join('\n');
}

// ---- main --------------------------------------------------------------------------------------

const wanted = opts.only.split(',').map((s) => s.trim()).filter(Boolean);
const chosen = ALL.filter((s) => wanted.includes(s.name));
if (chosen.length === 0) {
  console.error(`--only: choose from ${ALL.map((s) => s.name).join(', ')}`);
  process.exit(64);
}
ensurePeers(wanted);
console.error(`node ${process.version}, ${SERVICES} services each (${SERVER_NAME}), kill -9 then connect every 1 ms`);
const bareBefore = await bareStartMs();
const results = [];
const seen = new Set();
for (const sup of chosen) {
  console.error(`-- ${sup.label}`);
  let r;
  try {
    r = await measure(sup, seen);
  } catch (error) {
    console.error(`   ${sup.label} failed: ${error.message}`);
    process.exitCode = 1;
    continue;
  }
  results.push(r);
  console.error(`   ready ${f0(r.readyMs)} ms, first restarts ${r.firstRestartMs.map(f1).join(' ')} ms, repeated ${r.repeatRestartMs.map(f0).join(' ')} ms, RSS ${f1(r.memory.rssMiB)} MiB`);
}
const bare = [...bareBefore, ...(await bareStartMs())];
const idle = await bareNodeMemory();
console.log(report(results));
console.log(`\nFloor: \`${SERVER_NAME}\` spawned directly until it answers, 5 times before and 5 after: median ${f1(median(bare))} ms (${bare.map(f0).join(' ')}).`);
console.log(`Memory floor: an idle \`node -e\` here is ${f1(idle.rssMiB)} MiB RSS (${f1(idle.anonMiB)} anonymous, ${f1(idle.fileMiB)} file-backed: the node binary's own pages), PSS ${f1(idle.pssMiB)} MiB.`);
if (opts.json) writeFileSync(opts.json, `${JSON.stringify({ results, bareStartMs: bare, bareNodeMemory: idle }, null, 2)}\n`);
