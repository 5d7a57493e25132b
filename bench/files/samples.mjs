#!/usr/bin/env node
/**
 * Where a 4 KB GET's CPU time goes in a Node server, kernel included: `perf record` samples the
 * server's threads at a fixed rate of CPU time while `wrk -t2 -c64` (as run.mjs) loads it, and the
 * samples are shared out by function (Node `--perf-basic-prof` names the JIT-compiled ones). Each
 * function's share of the samples is given as its share of the CPU time per request that the
 * server's processes used over the same run (`/proc`), in nanoseconds.
 *
 *   node bench/files/samples.mjs [--rounds 4] [--seconds 5] [--hz 1999] [--top 25] [--before DIST] A [B]
 *
 * A and B: `hearth`, `before` (the build in DIST), `floor`, `floor-file` (the floor sending Hearth's
 * headers for the file). Each round starts each server afresh, alone on the last CPU (B first in
 * every other round), runs wrk on the others for a second not counted, then samples one run of
 * `--seconds`; the figures add up the rounds. With B, the functions are listed by how far A's time
 * per request is from B's. Unlike `instructions.mjs`, this is time: a cache miss or a mispredicted
 * branch counts in the function that waits for it, and the kernel's work is in. The sampling itself
 * costs the server time (more with `--hz`), alike for A and B. Needs `perf` (Debian `linux-perf`,
 * with the right to sample another process: root, or `kernel.perf_event_paranoid` at 1 or less),
 * `wrk` and `taskset`, and two CPUs or more.
 */
import { execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { onInterrupt, pinTree, treeCpuMs, treePids } from './peers.mjs';
import {
  checkServerKinds,
  perfMapOf,
  printByFunction,
  serverAndClientCpus,
  shortFileIn,
  smallFileFolder,
  startSmallFileServer,
  wrkSmallFile,
} from './small-get.mjs';

const run = promisify(execFile);
const USAGE = 'node bench/files/samples.mjs [--rounds 4] [--seconds 5] [--hz 1999] [--top 25] [--before DIST] A [B]';
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '5' },
    hz: { type: 'string', default: '1999' },
    top: { type: 'string', default: '25' },
    before: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const hz = Number(values.hz);
const top = Number(values.top);
checkServerKinds(positionals, [1, 2], values.before, USAGE);
if (!(rounds >= 1 && rounds <= 20 && seconds >= 1 && seconds <= 60 && hz >= 99 && hz <= 9999 && top >= 1 && top <= 200)) {
  console.error('--rounds is 1-20, --seconds 1-60, --hz 99-9999 and --top 1-200');
  process.exit(2);
}
try {
  await run('perf', ['--version']);
} catch (err) {
  if (err.code !== 'ENOENT') throw err;
  console.error('needs perf (Debian package linux-perf)');
  process.exit(2);
}
const { serverCpu, clientCpus } = serverAndClientCpus();
const { dir, root } = smallFileFolder('bench-samples-');

let server;
let recorder;
onInterrupt(() => {
  recorder?.kill('SIGINT');
  // The server's map, also when it is still starting (then stopped as this process exits).
  const maps = treePids(process.pid).map(perfMapOf);
  return Promise.resolve(server?.stop()).finally(() => {
    for (const map of maps) rmSync(map, { force: true });
    rmSync(dir, { recursive: true, force: true });
  });
});

/**
 * `perf record` of process `pid`'s threads into `out`, its events off until `enable()`; `disable()`
 * turns them off again; `done()` ends it (once, however often called). Each resolves when perf has
 * done it.
 */
function record(pid, out) {
  // fd 3: commands to perf; fd 4: its acknowledgements.
  const child = spawn('perf', ['record', '--quiet', '-F', String(hz), '-p', String(pid), '-o', out, '-D', '-1', '--control', 'fd:3,4'], {
    stdio: ['ignore', 'ignore', 'inherit', 'pipe', 'pipe'],
  });
  recorder = child;
  const exited = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 || signal === 'SIGINT' ? resolve() : reject(new Error(`perf record exited with ${code ?? signal}`))));
  });
  // Its failure reaches whoever waits for perf next; until then it is not an unhandled rejection.
  exited.catch(() => {});
  let acks = '';
  let waiting = [];
  child.stdio[4].on('data', (chunk) => {
    acks += chunk.toString();
    while (acks.includes('\n')) {
      acks = acks.slice(acks.indexOf('\n') + 1);
      waiting.shift()?.();
    }
  });
  const command = (word) =>
    Promise.race([
      new Promise((resolve) => {
        waiting.push(resolve);
        child.stdio[3].write(`${word}\n`);
      }),
      exited.then(() => Promise.reject(new Error(`perf record exited before it acknowledged "${word}"`))),
    ]);
  let ended;
  return {
    enable: () => command('enable'),
    disable: () => command('disable'),
    done: () =>
      (ended ??= Promise.resolve().then(() => {
        child.kill('SIGINT');
        return exited.finally(() => {
          recorder = undefined;
          waiting = [];
        });
      })),
  };
}

/** The samples in `data` by function: kernel functions marked, JIT code's file given by its last part. */
async function samplesByFunction(data) {
  const { stdout } = await run('perf', ['report', '-i', data, '--no-children', '--sort', 'sym', '--stdio', '-F', 'sample,sym'], { maxBuffer: 64 * 1024 * 1024 });
  const samples = new Map();
  for (const line of stdout.split('\n')) {
    const m = /^\s+(\d+)\s+\[(.)\]\s+(.+)$/.exec(line);
    if (!m) continue;
    const name = `${m[2] === 'k' ? 'kernel ' : ''}${shortFileIn(m[3].trim().replace(/^(?:LazyCompile|Function|JS):[*~^+]?/, ''))}`;
    samples.set(name, (samples.get(name) ?? 0) + Number(m[1]));
  }
  return samples;
}

/** One round of `kind`: its samples by function, the requests answered and the CPU time used (ms) while sampled. */
async function sampleRound(kind, port, round) {
  server = await startSmallFileServer(kind, { port, dir, root, before: values.before, execArgv: ['--perf-basic-prof'] });
  const { pid } = server;
  const data = join(dir, `${kind}-${round}.perf`);
  const perf = record(pid, data);
  try {
    pinTree(pid, serverCpu);
    await wrkSmallFile({ name: kind, port, cpus: clientCpus, seconds: 1 });
    await perf.enable();
    const cpuBefore = treeCpuMs(pid);
    const { requests } = await wrkSmallFile({ name: kind, port, cpus: clientCpus, seconds });
    const cpuMs = treeCpuMs(pid) - cpuBefore;
    await perf.disable();
    if (requests === 0) throw new Error(`${kind} answered no request`);
    // Its data written whole; perf report reads the JIT map, so before the map is removed.
    await perf.done();
    return { samples: await samplesByFunction(data), requests, cpuMs };
  } finally {
    await perf.done().catch(() => {});
    await server.stop();
    server = undefined;
    rmSync(perfMapOf(pid), { force: true });
    rmSync(data, { force: true });
  }
}

/** Adds up the rounds of one server: CPU time per request (ns) in all, in the kernel, and by function. */
function addRounds(results) {
  let requests = 0;
  let cpuMs = 0;
  const samples = new Map();
  for (const r of results) {
    requests += r.requests;
    cpuMs += r.cpuMs;
    for (const [name, n] of r.samples) samples.set(name, (samples.get(name) ?? 0) + n);
  }
  let count = 0;
  let kernel = 0;
  for (const [name, n] of samples) {
    count += n;
    if (name.startsWith('kernel ')) kernel += n;
  }
  if (count === 0) throw new Error('perf took no samples');
  const nsPerRequest = (cpuMs * 1e6) / requests;
  const share = (n) => (n / count) * nsPerRequest;
  return { requests, count, total: nsPerRequest, kernel: share(kernel), perRequest: new Map([...samples].map(([name, n]) => [name, share(n)])) };
}

const f = (n) => Math.round(n).toLocaleString('en-US');
try {
  const byServer = positionals.map(() => []);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? positionals.keys() : [...positionals.keys()].reverse();
    for (const i of order) byServer[i].push(await sampleRound(positionals[i], 18600 + i, round));
  }
  const results = byServer.map(addRounds);
  for (const [i, kind] of positionals.entries()) {
    const r = results[i];
    console.log(
      `${kind}: ${f(r.total)} ns of CPU per request, ${f(r.kernel)} of them in the kernel (${f(r.requests)} requests, ${f(r.count)} samples at ${hz} Hz, ${rounds} round${rounds === 1 ? '' : 's'} of ${seconds} s)`,
    );
  }
  const [a, b] = results;
  if (b !== undefined) console.log(`${positionals[0]}/${positionals[1]} by CPU per request: ${(a.total / b.total).toFixed(3)}\n`);
  printByFunction(positionals, results, { top, unit: 'ns', functions: 'function (kernel ones marked; the outermost of an optimized frame)' });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
