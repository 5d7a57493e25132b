#!/usr/bin/env node
/**
 * The machine instructions a 4 KB GET costs a Node server in user space, counted by valgrind's
 * callgrind, and the functions they are spent in. Each server runs alone under callgrind, Node with
 * `--single-threaded` (V8 compiles on the main thread) and `--perf-basic-prof` (its map names the
 * JIT-compiled functions). After `--warmup` GETs not counted, the counters are zeroed and
 * `--requests` more are counted, all on 16 keep-alive connections from this process. Without V8's
 * optimizing compiler the count comes out the same within 0.3% from one run to the next, whatever
 * else loads the machine, so it says how much work a build does where the request rate cannot. It
 * is not a time: the kernel's work is not in it, and a cache miss or a mispredicted branch takes
 * many instructions' time without being one.
 *
 *   node bench/files/instructions.mjs [--requests 10000] [--warmup 50000] [--top 25] [--callers NAME] [--before DIST] A [B]
 *
 * A and B: `hearth`, `before` (the build in DIST), `floor`, `floor-file` (the floor sending Hearth's
 * headers for the file). With B, the functions are listed by how far A's instructions per request
 * are from B's. Needs `valgrind`. Under valgrind a server runs some 30 times slower, so what it
 * does by the clock (Hearth renews its cached lookups and a connection's credentials each second)
 * counts for more per request than at full speed.
 *
 * With `--callers NAME` it also prints, for each server, the functions that called the function
 * named NAME as this script names it (e.g. `Builtins_LoadIC_Megamorphic`, V8's property lookup for
 * a read that has seen more shapes than its inline cache keeps apart), with the instructions per
 * request spent in it, and in what it called, from each.
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { onInterrupt, treePids } from './peers.mjs';
import { CREDENTIALS, checkServerKinds, perfMapOf, printByFunction, shortFileIn, smallFileFolder, startSmallFileServer } from './small-get.mjs';

const run = promisify(execFile);
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    requests: { type: 'string', default: '10000' },
    warmup: { type: 'string', default: '50000' },
    top: { type: 'string', default: '25' },
    before: { type: 'string' },
    callers: { type: 'string' },
  },
});
const requests = Number(values.requests);
const warmup = Number(values.warmup);
const top = Number(values.top);
checkServerKinds(positionals, [1, 2], values.before, 'node bench/files/instructions.mjs [--requests 10000] [--warmup 50000] [--top 25] [--callers NAME] [--before DIST] A [B]');
if (!(requests >= 1000 && requests <= 100_000 && warmup >= 0 && warmup <= 500_000 && top >= 1 && top <= 200)) {
  console.error('--requests is 1,000-100,000, --warmup 0-500,000 and --top 1-200');
  process.exit(2);
}
for (const tool of ['valgrind', 'callgrind_control', 'callgrind_annotate']) {
  try {
    await run(tool, ['--help']);
  } catch (err) {
    if (err.code === 'ENOENT') {
      console.error(`needs ${tool} (Debian package valgrind)`);
      process.exit(2);
    }
  }
}
const { dir, root } = smallFileFolder('bench-instructions-');
const CONNECTIONS = 16;
const COMPILING = "V8's optimizing compiler (TurboFan)";

let server;
onInterrupt(() => {
  // The server's map, also when it is still starting (then stopped as this process exits).
  const maps = treePids(process.pid).map(perfMapOf);
  return Promise.resolve(server?.stop()).finally(() => {
    for (const map of maps) rmSync(map, { force: true });
    rmSync(dir, { recursive: true, force: true });
  });
});

/** `count` GETs of the file on `port` over `CONNECTIONS` keep-alive connections; an error unless each answers 200 with the 4 KB. */
async function load(port, count) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  let sent = 0;
  const one = () =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/bench/small.bin', agent, headers: { Authorization: CREDENTIALS } }, (res) => {
        let bytes = 0;
        res.on('data', (chunk) => (bytes += chunk.length));
        res.on('end', () => (res.statusCode === 200 && bytes === 4096 ? resolve() : reject(new Error(`answered ${res.statusCode} with ${bytes} bytes`))));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  const connection = async () => {
    while (sent < count) {
      sent++;
      await one();
    }
  };
  try {
    await Promise.all(Array.from({ length: CONNECTIONS }, connection));
  } finally {
    agent.destroy();
  }
}

/** A lookup of JIT-compiled code's names by address, from process `pid`'s map, which is then removed. */
function jitMap(pid) {
  const path = perfMapOf(pid);
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } finally {
    rmSync(path, { force: true });
  }
  const ranges = text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [start, size, ...name] = line.split(' ');
      return { start: parseInt(start, 16), end: parseInt(start, 16) + parseInt(size, 16), name: name.join(' ') };
    })
    .sort((a, b) => a.start - b.start);
  return (address) => {
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (ranges[mid].start <= address) lo = mid + 1;
      else hi = mid - 1;
    }
    const r = ranges[hi];
    return r !== undefined && address < r.end ? r.name : undefined;
  };
}

/**
 * A function's name as callgrind_annotate gives it, made short: JIT code named from the map (its
 * file by its last part), C++ without parameters, and V8's optimizing compiler as one.
 */
function shortName(raw, jitName) {
  const name = raw.replace(/'\d+$/, '');
  const jit = /^\?\?\?:0x([0-9a-f]+) \[\?\?\?\]$/.exec(name);
  if (jit) return `JIT ${shortFileIn(jitName(parseInt(jit[1], 16)) ?? 'unnamed')}`;
  const short = name
    .replace(/^[^:]*:/, '')
    .replace(/ \[[^\]]*\]$/, '')
    .replaceAll('(anonymous namespace)::', '')
    .replace(/\(.*$/, '');
  return /^(\S+ )?v8::internal::compiler::/.test(short) ? COMPILING : short;
}

/** Instructions counted for `kind`: in all and by function, per request. */
async function measure(kind, port) {
  const out = join(dir, `${kind}.callgrind`);
  server = await startSmallFileServer(kind, {
    port,
    dir,
    root,
    before: values.before,
    execArgv: ['--single-threaded', '--perf-basic-prof'],
    wrapper: ['valgrind', '--tool=callgrind', '--quiet', `--callgrind-out-file=${out}`],
    startMs: 180_000,
  });
  const { pid } = server;
  try {
    await load(port, warmup);
    await run('callgrind_control', ['--zero', String(pid)]);
    await load(port, requests);
    await run('callgrind_control', ['--dump', String(pid)]);
  } catch (err) {
    rmSync(perfMapOf(pid), { force: true });
    throw err;
  } finally {
    await server.stop();
    server = undefined;
  }
  const jitName = jitMap(pid);
  const { stdout } = await run('callgrind_annotate', ['--inclusive=no', '--threshold=100', `${out}.1`], { maxBuffer: 64 * 1024 * 1024 });
  const total = Number(/^([\d,]+)\s.*PROGRAM TOTALS/m.exec(stdout)?.[1].replaceAll(',', '') ?? NaN);
  if (!(total > 0)) throw new Error(`no instructions counted for ${kind}`);
  const perRequest = new Map();
  for (const line of stdout.slice(stdout.indexOf('file:function')).split('\n')) {
    const m = /^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.+)$/.exec(line);
    if (!m) continue;
    const n = Number(m[1].replaceAll(',', ''));
    // The functions below which everything ran (main, the event loop) count the total as their own.
    if (n >= total * 0.99) continue;
    const name = shortName(m[2], jitName);
    perRequest.set(name, (perRequest.get(name) ?? 0) + n / requests);
  }
  const callers = values.callers === undefined ? undefined : await callersOf(values.callers, `${out}.1`, jitName);
  return { total: total / requests, perRequest, callers };
}

/**
 * The functions that called `name` in the counts of file `out`, each with the instructions per
 * request spent in `name` (and what it called) from it, largest first: from callgrind_annotate's
 * caller tree, in which each function's block lists its callers (`<`) above its own line (`*`).
 */
async function callersOf(name, out, jitName) {
  const { stdout } = await run('callgrind_annotate', ['--tree=caller', '--inclusive=no', '--threshold=100', out], { maxBuffer: 256 * 1024 * 1024 });
  const byCaller = new Map();
  for (const block of stdout.split(/\n\s*\n/)) {
    const lines = block.split('\n');
    const own = lines.find((l) => /^\s*[\d,]+\s+\(\s*[\d.]+%\)\s+\*\s/.test(l));
    if (own === undefined || shortName(/\*\s+(.+)$/.exec(own)[1], jitName) !== name) continue;
    for (const line of lines) {
      const m = /^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+<\s+(.+?) \([\d,]+x\)( \[[^\]]*\])?$/.exec(line);
      if (!m) continue;
      const caller = shortName(`${m[2]}${m[3] ?? ''}`, jitName);
      byCaller.set(caller, (byCaller.get(caller) ?? 0) + Number(m[1].replaceAll(',', '')) / requests);
    }
  }
  return [...byCaller].sort((a, b) => b[1] - a[1]);
}

const f = (n) => Math.round(n).toLocaleString('en-US');
try {
  const results = [];
  for (const [i, kind] of positionals.entries()) results.push(await measure(kind, 18590 + i));
  // V8 goes on compiling through the requests counted, by amounts that differ from run to run.
  const working = (r) => r.total - (r.perRequest.get(COMPILING) ?? 0);
  for (const [i, kind] of positionals.entries()) {
    const r = results[i];
    console.log(`${kind}: ${f(r.total)} instructions per request, ${f(working(r))} without V8's compiling (${requests} requests counted after ${warmup})`);
  }
  const [a, b] = results;
  if (b !== undefined) console.log(`${positionals[0]}/${positionals[1]}: ${(a.total / b.total).toFixed(3)}, without V8's compiling ${(working(a) / working(b)).toFixed(3)}\n`);
  printByFunction(positionals, results, { top, unit: 'instructions', functions: 'function' });
  if (values.callers !== undefined) {
    for (const [i, kind] of positionals.entries()) {
      console.log(`\n${kind}: the callers of ${values.callers}, instructions per request spent in it from each`);
      const callers = results[i].callers;
      if (callers.length === 0) console.log('  (not called, or below callgrind_annotate\'s threshold)');
      for (const [caller, n] of callers.slice(0, top)) console.log(`${f(n).padStart(10)}  ${caller}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
