#!/usr/bin/env node
/**
 * Two servers' PROPFIND Depth 1 of a folder of small files, listing after listing: both run at
 * once on the last CPU (curl on the others) and take turns, A, B, B, A in every round, so that a
 * drift of the machine's speed touches both alike; each round's ratios are of A's two turns to
 * B's two, by curl's time and by the server's CPU time per listing (its process tree, from /proc).
 * Both are started once and warmed by `--warmups` listings each (Hearth keeps a listed folder's
 * responses from its second listing on: the rounds measure a folder listed over and over). Every
 * listing must hold one response per file and one for the folder (only the folder's with
 * `--depth 0`).
 *
 *   node bench/files/listings.mjs [--rounds 12] [--files 10000] [--warmups 4] [--per-turn 1] [--depth 1] [--keep-alive] [--props NAMES] [--before DIST] A B
 *
 * `--per-turn`: listings in each turn (each a curl of its own, on a new connection): more for a
 * small folder, whose listing takes less CPU time than /proc counts in (10 ms). `--keep-alive`:
 * the listings are made one after the other over one connection per server kept open, by this
 * process (node:http, pinned to curl's CPUs) instead of a curl each: a client browsing folders,
 * without a new process's and a new connection's costs.
 * `--props`: DAV properties to ask for by name, comma-separated (e.g. Finder's
 * `getlastmodified,getcontentlength,creationdate,resourcetype`), instead of allprop.
 *
 * A and B: `hearth` (this worktree's build), `before` (the build in DIST, as in run.mjs), `nginx`,
 * `apache`. Needs `curl` and `taskset`, and for the peers `nginx` with `libnginx-mod-http-dav-ext`,
 * `apache2`, and root (as run.mjs).
 */
import { execFile } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { ALLPROP, PINNED_KINDS, pinTree, responsesIn, sideBySide, smallFilesFolder, spread, treeCpuMs, turnsABBA } from './peers.mjs';

const USAGE = `usage: node bench/files/listings.mjs [--rounds 12] [--files 10000] [--warmups 4] [--per-turn 1] [--depth 1] [--keep-alive] [--props NAMES] [--before DIST] A B   (${PINNED_KINDS.join(', ')})`;
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '12' },
    files: { type: 'string', default: '10000' },
    warmups: { type: 'string', default: '4' },
    'per-turn': { type: 'string', default: '1' },
    depth: { type: 'string', default: '1' },
    'keep-alive': { type: 'boolean', default: false },
    props: { type: 'string' },
    before: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const files = Number(values.files);
const warmups = Number(values.warmups);
const perTurn = Number(values['per-turn']);
const depth = values.depth;
if (!(rounds >= 1 && rounds <= 100 && files >= 1 && files <= 100_000 && warmups >= 0 && warmups <= 100 && perTurn >= 1 && perTurn <= 1000 && (depth === '0' || depth === '1'))) {
  console.error('--rounds is 1-100, --files 1-100000, --warmups 0-100, --per-turn 1-1000 and --depth 0 or 1');
  process.exit(2);
}
const props = values.props?.split(',');
if (props !== undefined && !props.every((p) => /^[a-z][a-z-]*$/.test(p))) {
  console.error('--props is a comma-separated list of DAV property names (getlastmodified,getcontentlength,...)');
  process.exit(2);
}
const bench = sideBySide({ prefix: 'bench-listings-', usage: USAGE, kinds: positionals, beforeDist: values.before, firstPort: 18_600 });
const { serverCpu, clientCpus } = bench;
smallFilesFolder(join(bench.root, 'many'), files);
const keepAlive = values['keep-alive'];
if (keepAlive) pinTree(process.pid, clientCpus);

const agents = [];

/** Starts server `kind` pinned to the server CPU: its name, how to list the folder, and a turn of `--per-turn` listings. */
async function start(kind) {
  const { server, base, auth } = await bench.start(kind);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  agents.push(agent);
  const list = keepAlive ? () => keptListing(`${base}/many/`, auth, agent) : () => listing(`${base}/many/`, auth);
  /** A turn's mean curl time and server CPU time per listing (ms). */
  const turn = async () => {
    const cpu = treeCpuMs(server.pid);
    let ms = 0;
    for (let i = 0; i < perTurn; i++) ms += await list();
    return { ms: ms / perTurn, cpu: (treeCpuMs(server.pid) - cpu) / perTurn };
  };
  return { name: kind, list, turn };
}

const run = promisify(execFile);
const BODY = props === undefined ? ALLPROP : `<?xml version="1.0"?><propfind xmlns="DAV:"><prop>${props.map((p) => `<${p}/>`).join('')}</prop></propfind>`;

/** One listing's time (ms), from curl; throws unless the answer holds every member. */
async function listing(url, auth) {
  const args = ['-c', clientCpus, 'curl', '-sS', '--max-time', '120', ...auth, '-X', 'PROPFIND', '-H', `Depth: ${depth}`, '-H', 'Content-Type: application/xml', '--data', BODY, '-w', '\n%{time_total}', url];
  const { stdout } = await run('taskset', args, { maxBuffer: 256 * 1024 * 1024 });
  const responses = responsesIn(stdout);
  const expected = depth === '0' ? 1 : files + 1;
  if (responses !== expected) throw new Error(`${url} listed ${responses} responses, not ${expected}`);
  return Number(stdout.trimEnd().split('\n').at(-1)) * 1000;
}

/** One listing's time (ms) over `agent`'s kept connection; throws unless the answer holds every member. */
function keptListing(url, auth, agent) {
  const headers = { Depth: depth, 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(BODY) };
  if (auth.length > 0) headers.Authorization = `Basic ${Buffer.from(auth[1]).toString('base64')}`;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PROPFIND', headers, agent, timeout: 120_000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const ms = performance.now() - started;
        const responses = responsesIn(Buffer.concat(chunks).toString('utf8'));
        const expected = depth === '0' ? 1 : files + 1;
        if (res.statusCode !== 207 || responses !== expected) reject(new Error(`${url}: ${res.statusCode} with ${responses} responses, not 207 with ${expected}`));
        else resolve(ms);
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within 120 s`)));
    req.on('error', reject);
    req.end(BODY);
  });
}

const f = (n, d = 1) => n.toFixed(d);

try {
  const [a, b] = [await start(positionals[0]), await start(positionals[1])];
  console.log(
    `${a.name} against ${b.name}: both on CPU ${serverCpu}, ${keepAlive ? 'the client (one kept connection each)' : 'curl'} on ${clientCpus}; a folder of ${files} files, Depth ${depth} (${props === undefined ? 'allprop' : props.join(', ')}), ${warmups} listings each not counted, then ${rounds} rounds of A, B, B, A, ${perTurn} listing${perTurn === 1 ? '' : 's'} a turn`,
  );
  for (let i = 0; i < warmups; i++) {
    await a.list();
    await b.list();
  }
  const turns = await turnsABBA(rounds, a.turn, b.turn, (r, x, y) =>
    console.log(`round ${r}: ${a.name} ${f(x.ms, 2)} ms (CPU ${f(x.cpu, 2)}), ${b.name} ${f(y.ms, 2)} ms (CPU ${f(y.cpu, 2)}): ${f(x.ms / y.ms, 3)}, by CPU ${f(x.cpu / y.cpu, 3)}`),
  );
  const [msA, msB] = turns.medians('ms');
  const [cpuA, cpuB] = turns.medians('cpu');
  console.log(`${a.name}/${b.name}, the median of the rounds' own ratios [lowest..highest]: ${spread(turns.ratios('ms'))} (medians ${f(msA, 2)} and ${f(msB, 2)} ms)`);
  const cpuRatios = turns.ratios('cpu');
  // /proc counts CPU time in 10 ms: a turn of a few small listings may count none.
  if (cpuRatios.every((r) => Number.isFinite(r) && r > 0)) console.log(`by the servers' CPU time per listing: ${spread(cpuRatios)} (medians ${f(cpuA, 2)} and ${f(cpuB, 2)} ms)`);
  else console.log(`by the servers' CPU time per listing: not counted (a turn took less than /proc counts, 10 ms): raise --per-turn`);
} finally {
  for (const agent of agents) agent.destroy();
  await bench.cleanUp();
}
