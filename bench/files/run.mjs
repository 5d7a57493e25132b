#!/usr/bin/env node
/**
 * File service benchmark: Hearth against nginx (dav + dav-ext) and Apache (mod_dav), same folder,
 * same run, plus bare node:http floors for the 4 KB test. Measures GET and PUT of a 1 GiB file
 * (MB/s), PROPFIND Depth 1 of a folder of 10,000 files (median ms), 4 KB GETs per second (wrk,
 * 64 connections), and the servers' memory during a 4 GiB download and a 4 GiB upload.
 *
 *   node bench/files/run.mjs [--workers 1] [--seconds 5] [--rounds 3] [--only hearth,nginx,apache,floor] [--before DIST]
 *
 * The 1 GiB transfers, PROPFIND and 4 KB figures are taken in `--rounds` rounds after the memory
 * figures, every server in turn in each round (started afresh; each round starts one server
 * further along), so that a drift of the machine's speed touches all of them alike; the ratios are
 * the medians of each round's own ratios.
 *
 * `--before DIST` adds another build of the file service (its `dist` folder, inside the worktree so
 * that it finds its dependencies) as `before`, measured the same way in the same run.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, closeSync, mkdtempSync, openSync, rmSync, writeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ALLPROP, allowedCpus, median, pinTree, responsesIn, smallFilesFolder, startApache, startFloor, startHearth, startNginx, treeCpuMs, treeRss } from './peers.mjs';
import { CREDENTIALS, fileAnswerHeaders } from './small-get.mjs';

const { values } = parseArgs({ options: { workers: { type: 'string', default: '1' }, seconds: { type: 'string', default: '5' }, only: { type: 'string', default: 'hearth,nginx,apache,floor' }, before: { type: 'string' }, rounds: { type: 'string', default: '3' } } });
const workers = Number(values.workers);
const seconds = Number(values.seconds);
const only = new Set(values.only.split(','));
const rounds = Number(values.rounds);

const dir = mkdtempSync(join(tmpdir(), 'bench-files-'));
// Apache's workers run as www-data: they must reach the folder.
chmodSync(dir, 0o755);
const root = join(dir, 'root');
const GiB = 1024 ** 3;
console.log(`preparing ${root}: 1 GiB file, a 4 GiB sparse file, 10,000 small files, a 4 KB file`);
smallFilesFolder(join(root, 'many'), 10_000);
execFileSync('dd', ['if=/dev/urandom', `of=${join(root, 'big.bin')}`, 'bs=1M', 'count=1024', 'status=none']);
execFileSync('cp', [join(root, 'big.bin'), join(dir, 'upload.bin')]);
const sparse = openSync(join(root, 'huge.bin'), 'w');
ftruncateSync(sparse, 4 * GiB);
closeSync(sparse);
const small = openSync(join(root, 'small.bin'), 'w');
writeSync(small, Buffer.alloc(4096, 's'));
closeSync(small);

const AUTH = ['-u', 'bench:bench'];
const curl = (args) => client('curl', ['-sS', '--max-time', '600', ...args], { maxBuffer: 256 * 1024 * 1024 }).toString();
const PROPFIND_WARMUPS = 3;
const PROPFIND_RUNS = 11;

/**
 * GET and PUT of the 1 GiB file on a server just started, MB/s: one transfer takes a second or
 * less, so the median of five of each. What the server wrote without syncing is synced before the
 * next server starts, so that it does not weigh on that one's figures.
 */
function transfers(server, base, auth) {
  const five = (fn) => median([fn(), fn(), fn(), fn(), fn()]);
  const getMBs = five(() => Number(curl([...auth, '-o', '/dev/null', '-w', '%{speed_download}', `${base}/big.bin`])) / 1e6);
  const name = `up-${server.name.replace(/\W/g, '')}.bin`;
  const putMBs = five(() => Number(curl([...auth, '-T', join(dir, 'upload.bin'), '-o', '/dev/null', '-w', '%{speed_upload}', `${base}/${name}`])) / 1e6);
  rmSync(join(root, name), { force: true });
  execFileSync('sync');
  return { getMBs, putMBs };
}

/**
 * PROPFIND Depth 1 of the folder of 10,000 files on a server just started: its first listing
 * (Hearth's code not compiled yet) and the median of the listings after the warm-ups.
 */
function propfind(base, auth) {
  const times = [];
  let firstMs;
  let entries = 0;
  for (let i = 0; i < PROPFIND_WARMUPS + PROPFIND_RUNS; i++) {
    const text = curl([...auth, '-X', 'PROPFIND', '-H', 'Depth: 1', '-H', 'Content-Type: application/xml', '--data', ALLPROP, '-w', '\n%{time_total}', `${base}/many/`]);
    const ms = Number(text.trimEnd().split('\n').at(-1)) * 1000;
    if (i === 0) firstMs = ms;
    if (i >= PROPFIND_WARMUPS) times.push(ms);
    entries = responsesIn(text);
  }
  return { ms: median(times), firstMs, entries };
}

/**
 * Every server's processes run on the last `--workers` CPUs and every client (curl, wrk) on the
 * others (`taskset`), so that the client never takes the server's CPU time and where the
 * scheduler puts the server's threads and the client's does not move the figures. On two CPUs, in
 * alternating two-second 4 KB rounds of Hearth and the floor, the middle half of the rounds' own
 * ratios went from 0.72-0.89 to 0.80-0.83; other loads on the machine still move whole rounds.
 * With no CPU left for the client, nothing is pinned.
 */
const cpus = allowedCpus();
const pinning = cpus.length > workers ? { server: cpus.slice(-workers).join(','), client: cpus.slice(0, -workers).join(',') } : undefined;

/** A client command and its arguments, to run on the clients' CPUs. */
function onClientCpus(command, args) {
  return pinning ? ['taskset', ['-c', pinning.client, command, ...args]] : [command, args];
}

/** `execFileSync` of a client command, on the clients' CPUs. */
function client(command, args, options) {
  return execFileSync(...onClientCpus(command, args), options);
}

/** Move every process of the server's tree, with all its threads, to the server's CPUs. */
function pinServer(server) {
  if (pinning !== undefined) pinTree(server.pid, pinning.server);
}

/**
 * Requests per second with wrk, and the server's CPU time per request: on a shared machine the
 * second moves far less with the other loads than the first. Every server first gets the same
 * one-second run that is not counted (a Node server's code is compiled by V8 as it runs). Every
 * server gets the same request, Hearth's credentials included (the others ignore them).
 */
function wrk(server, url) {
  const header = ['-H', `Authorization: ${CREDENTIALS}`];
  const run = (args) => client('wrk', args).toString();
  run(['-t2', '-c64', '-d1s', ...header, url]);
  const cpuBefore = treeCpuMs(server.pid);
  const text = run(['-t2', '-c64', `-d${seconds}s`, ...header, url]);
  const cpuMs = treeCpuMs(server.pid) - cpuBefore;
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? 0);
  // Only answers with the file count: a server refusing the requests would otherwise be fast.
  const refused = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1];
  if (refused !== undefined) throw new Error(`${server.name ?? 'a server'} did not answer ${refused} of ${requests} 4 KB GETs with the file (${url})`);
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? 0), cpuUs: requests > 0 ? (cpuMs * 1000) / requests : undefined };
}

/** RSS of the server's process tree before and at its peak while `curl ARGS` runs (sampled every 50 ms). */
async function memoryDuring(server, args) {
  const before = treeRss(server.pid);
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, treeRss(server.pid))), 50);
  try {
    await new Promise((resolve, reject) => {
      const c = spawn(...onClientCpus('curl', ['-sS', '--max-time', '600', '-o', '/dev/null', ...args]));
      running.add(c);
      c.on('exit', (code) => {
        running.delete(c);
        if (code === 0) resolve();
        else reject(new Error(`curl exited ${code}`));
      });
    });
  } finally {
    clearInterval(timer);
  }
  return { beforeMiB: before / 1024, peakMiB: peak / 1024 };
}

/** Memory during a 4 GiB download and a 4 GiB upload (whose file is removed at once). */
async function memoryDuring4GiB(server, base, auth) {
  const get = await memoryDuring(server, [...auth, `${base}/huge.bin`]);
  const name = `up-huge-${server.name.replace(/\W/g, '')}.bin`;
  try {
    const put = await memoryDuring(server, [...auth, '-T', join(root, 'huge.bin'), `${base}/${name}`]);
    return { get, put };
  } finally {
    rmSync(join(root, name), { force: true });
  }
}

// Whatever ends the run (an error, Ctrl-C, a kill), the servers stop and the scratch folder (with
// its 1 GiB and 4 GiB files) goes.
const running = new Set();
let current;
async function cleanUp() {
  for (const c of running) c.kill('SIGKILL');
  await current?.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    console.error(`${signal}: stopping the servers and removing ${dir}`);
    void cleanUp().finally(() => process.exit(130));
  });
}

const results = {};
let port = 18_400;
const servers = [
  ...(values.before ? [['before', () => startHearth({ dataDir: join(dir, 'before-data'), root, port, workers, dist: values.before, name: 'before' }), (p) => `http://127.0.0.1:${p}/bench`, AUTH]] : []),
  ['hearth', () => startHearth({ dataDir: join(dir, 'hearth-data'), root, port, workers }), (p) => `http://127.0.0.1:${p}/bench`, AUTH],
  ['nginx', () => startNginx({ dir, root, port, workers }), (p) => `http://127.0.0.1:${p}`, []],
  ['apache', () => startApache({ dir, root, port }), (p) => `http://127.0.0.1:${p}`, []],
];
const chosen = servers.filter(([name]) => only.has(name) || name === 'before');
/** Start a server on a new port, run `fn` on it, stop it. */
async function withServer(start, fn) {
  port++;
  const server = await start();
  current = server;
  pinServer(server);
  try {
    return await fn(server, port);
  } finally {
    await server.stop();
    current = undefined;
  }
}
/** The servers in round `round`'s order: each round starts one further along, so that none always follows the same one. */
const rotated = (list, round) => [...list.slice((round - 1) % list.length), ...list.slice(0, (round - 1) % list.length)];
const rounds4k = {};
const roundsPropfind = {};
const roundsTransfer = {};
try {
  for (const [name, start, baseOf, auth] of chosen) {
    console.log(`${name}: memory during 4 GiB transfers`);
    results[name] = { memory: await withServer(start, (server, p) => memoryDuring4GiB(server, baseOf(p), auth)) };
    // What one server wrote without syncing is not left for the next one's figures to pay for.
    execFileSync('sync');
  }
  for (let round = 1; round <= rounds; round++) {
    const order = rotated(chosen, round);
    console.log(`1 GiB GET and PUT, round ${round} of ${rounds}: ${order.map(([name]) => name).join(', ')}`);
    for (const [name, start, baseOf, auth] of order) {
      const r = await withServer(start, (server, p) => transfers(server, baseOf(p), auth));
      (roundsTransfer[name] ??= []).push(r);
    }
  }
  for (const [name, rs] of Object.entries(roundsTransfer)) {
    results[name] = { ...results[name], getMBs: median(rs.map((r) => r.getMBs)), putMBs: median(rs.map((r) => r.putMBs)) };
  }
  for (let round = 1; round <= rounds; round++) {
    const order = rotated(chosen, round);
    console.log(`PROPFIND, round ${round} of ${rounds}: ${order.map(([name]) => name).join(', ')}`);
    for (const [name, start, baseOf, auth] of order) {
      const r = await withServer(start, (server, p) => propfind(baseOf(p), auth));
      (roundsPropfind[name] ??= []).push(r);
    }
  }
  for (const [name, rs] of Object.entries(roundsPropfind)) {
    results[name] = { ...results[name], propfindMs: median(rs.map((r) => r.ms)), propfindFirstMs: median(rs.map((r) => r.firstMs)), propfindEntries: Math.min(...rs.map((r) => r.entries)) };
  }
  const small = [...chosen.map(([name, start, baseOf]) => [name, start, (p) => `${baseOf(p)}/small.bin`])];
  if (only.has('floor')) {
    small.push(['floor', () => startFloor({ port, workers }), (p) => `http://127.0.0.1:${p}/`]);
    const hearth = chosen.find(([name]) => name === 'hearth');
    if (hearth) {
      const [, start, baseOf] = hearth;
      const headers = await withServer(start, (server, p) => fileAnswerHeaders(`${baseOf(p)}/small.bin`));
      small.push(['floor-file', () => startFloor({ port, workers, headers }), (p) => `http://127.0.0.1:${p}/`]);
    }
  }
  for (let round = 1; round <= rounds; round++) {
    const order = rotated(small, round);
    console.log(`4 KB GET, round ${round} of ${rounds}: ${order.map(([name]) => name).join(', ')}`);
    for (const [name, start, urlOf] of order) {
      const r = await withServer(start, (server, p) => wrk(server, urlOf(p)));
      (rounds4k[name] ??= []).push(r);
    }
  }
  for (const [name, rs] of Object.entries(rounds4k)) {
    results[name] = { ...results[name], rps4k: median(rs.map((r) => r.rps)), cpuUs4k: median(rs.map((r) => r.cpuUs)) };
  }
} finally {
  await cleanUp();
}

const f = (n, d = 0) => (n === undefined ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
console.log(`\nworkers: ${workers} (hearth, the node floor, nginx; the supervisor runs one process per service); wrk -t2 -c64 -d${seconds}s${pinning ? `; the servers on CPU ${pinning.server}, curl and wrk on CPU ${pinning.client}` : ''}`);
console.log('server       GET 1GiB MB/s  PUT 1GiB MB/s  PROPFIND 10k ms (first)  4KB GET req/s  CPU us/req  RSS MiB before/peak: 4GiB GET   4GiB PUT');
const mem = (m) => (m ? `${f(m.beforeMiB)} / ${f(m.peakMiB)}` : '-');
for (const [name, r] of Object.entries(results)) {
  console.log(
    `${name.padEnd(10)} ${f(r.getMBs).padStart(15)}  ${f(r.putMBs).padStart(13)}  ${`${f(r.propfindMs, 1)} (${f(r.propfindFirstMs, 0)})`.padStart(23)}  ${f(r.rps4k).padStart(13)}  ${f(r.cpuUs4k, 1).padStart(10)}  ${mem(r.memory?.get).padStart(28)}  ${mem(r.memory?.put).padStart(9)}${r.propfindEntries !== undefined && r.propfindEntries !== 10_001 ? `  (PROPFIND gave ${r.propfindEntries} entries)` : ''}`,
  );
}
console.log('\nper round, in the order of the rounds (each round began one server further along the list):');
for (const [name, rs] of Object.entries(roundsTransfer)) console.log(`  GET MB/s      ${name.padEnd(10)} ${rs.map((r) => f(r.getMBs)).join('  ')}`);
for (const [name, rs] of Object.entries(roundsTransfer)) console.log(`  PUT MB/s      ${name.padEnd(10)} ${rs.map((r) => f(r.putMBs)).join('  ')}`);
for (const [name, rs] of Object.entries(roundsPropfind)) console.log(`  PROPFIND ms   ${name.padEnd(10)} ${rs.map((r) => f(r.ms, 1)).join('  ')}`);
for (const [name, rs] of Object.entries(rounds4k)) console.log(`  4 KB req/s    ${name.padEnd(10)} ${rs.map((r) => f(r.rps)).join('  ')}`);
/** The median over the rounds of `a`'s figure over `b`'s in the same round (CPU per request: `b`'s over `a`'s). */
const pairedRatio = (a, b, field, byRound = rounds4k) => {
  const ra = byRound[a];
  const rb = byRound[b];
  if (!ra || !rb) return '-';
  const per = ra.map((x, i) => (field === 'cpuUs' ? rb[i][field] / x[field] : x[field] / rb[i][field]));
  return `${median(per).toFixed(2)} [${Math.min(...per).toFixed(2)}..${Math.max(...per).toFixed(2)}]`;
};
const b = results.before;
if (b) {
  console.log(`\nGET and PUT MB/s, medians of the rounds' own ratios [lowest..highest]: before/nginx GET ${pairedRatio('before', 'nginx', 'getMBs', roundsTransfer)}, PUT ${pairedRatio('before', 'nginx', 'putMBs', roundsTransfer)}; hearth/before GET ${pairedRatio('hearth', 'before', 'getMBs', roundsTransfer)}`);
  console.log(`PROPFIND time, medians of the rounds' own ratios [lowest..highest]: before/nginx ${pairedRatio('before', 'nginx', 'ms', roundsPropfind)}, before/apache ${pairedRatio('before', 'apache', 'ms', roundsPropfind)}, hearth/before ${pairedRatio('hearth', 'before', 'ms', roundsPropfind)}`);
  console.log(`4KB, medians of the rounds' own ratios [lowest..highest]: before/floor req/s ${pairedRatio('before', 'floor', 'rps')}, CPU per request floor/before ${pairedRatio('before', 'floor', 'cpuUs')}; hearth/before req/s ${pairedRatio('hearth', 'before', 'rps')}`);
}
const h = results.hearth;
if (h) {
  console.log(`\nGET and PUT MB/s, medians of the rounds' own ratios [lowest..highest]: hearth/nginx GET ${pairedRatio('hearth', 'nginx', 'getMBs', roundsTransfer)}, PUT ${pairedRatio('hearth', 'nginx', 'putMBs', roundsTransfer)}; hearth/apache GET ${pairedRatio('hearth', 'apache', 'getMBs', roundsTransfer)}, PUT ${pairedRatio('hearth', 'apache', 'putMBs', roundsTransfer)}`);
  console.log(`PROPFIND time, medians of the rounds' own ratios [lowest..highest]: hearth/nginx ${pairedRatio('hearth', 'nginx', 'ms', roundsPropfind)} (first listing ${pairedRatio('hearth', 'nginx', 'firstMs', roundsPropfind)}), hearth/apache ${pairedRatio('hearth', 'apache', 'ms', roundsPropfind)}`);
  console.log(`4KB, medians of the rounds' own ratios [lowest..highest]: hearth/floor req/s ${pairedRatio('hearth', 'floor', 'rps')}, CPU per request floor/hearth ${pairedRatio('hearth', 'floor', 'cpuUs')}; hearth/nginx ${pairedRatio('hearth', 'nginx', 'rps')}, apache/nginx ${pairedRatio('apache', 'nginx', 'rps')}, hearth/apache ${pairedRatio('hearth', 'apache', 'rps')}`);
  console.log(`4KB with Hearth's headers, medians of the rounds' own ratios [lowest..highest]: floor-file/floor req/s ${pairedRatio('floor-file', 'floor', 'rps')}, CPU per request floor/floor-file ${pairedRatio('floor-file', 'floor', 'cpuUs')}; hearth/floor-file req/s ${pairedRatio('hearth', 'floor-file', 'rps')}, CPU per request floor-file/hearth ${pairedRatio('hearth', 'floor-file', 'cpuUs')}`);
}
