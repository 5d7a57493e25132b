#!/usr/bin/env node
/**
 * Two servers' GET of one large file, transfer after transfer: both run at once on the last CPU
 * (curl on the others) and take turns, A, B, B, A in every round, so that a drift of the machine's
 * speed touches both alike; each round's ratios are of A's two transfers to B's two, by rate and
 * by the server's CPU time per GiB (its whole process tree, from /proc). Both are started once
 * and warmed by one GET each. Every transfer must answer 200 with the file's every byte.
 *
 *   node bench/files/transfers.mjs [--rounds 10] [--mib 1024] [--before DIST] A B
 *
 * A and B: `hearth` (this worktree's build), `before` (the build in DIST, as in run.mjs), `nginx`,
 * `apache`. Needs `curl` and `taskset`, and for the peers `nginx` with `libnginx-mod-http-dav-ext`,
 * `apache2`, and root (as run.mjs). The file (`--mib` MiB of random bytes) is made in a scratch
 * folder, removed at the end.
 */
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { PINNED_KINDS, sideBySide, spread, treeCpuMs, turnsABBA } from './peers.mjs';

const USAGE = `usage: node bench/files/transfers.mjs [--rounds 10] [--mib 1024] [--before DIST] A B   (${PINNED_KINDS.join(', ')})`;
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '10' }, mib: { type: 'string', default: '1024' }, before: { type: 'string' } },
});
const rounds = Number(values.rounds);
const mib = Number(values.mib);
if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 100 && Number.isInteger(mib) && mib >= 1 && mib <= 4096)) {
  console.error('--rounds is 1-100 and --mib 1-4096');
  process.exit(2);
}
const bench = sideBySide({ prefix: 'bench-transfers-', usage: USAGE, kinds: positionals, beforeDist: values.before, firstPort: 18_650 });
const { serverCpu, clientCpus } = bench;
const size = mib * 1024 * 1024;
execFileSync('dd', ['if=/dev/urandom', `of=${join(bench.root, 'big.bin')}`, 'bs=1M', `count=${mib}`, 'status=none']);

const run = promisify(execFile);
/** Starts server `kind` pinned to the server CPU: its name and how to take one GET of the file. */
async function start(kind) {
  const { server, base, auth } = await bench.start(kind);
  return { name: kind, get: () => transfer(server.pid, `${base}/big.bin`, auth) };
}

/** One GET of the file: MB/s from curl and the server's CPU time per GiB; throws unless it came whole. */
async function transfer(pid, url, auth) {
  const before = treeCpuMs(pid);
  const args = ['-c', clientCpus, 'curl', '-sS', '--max-time', '300', ...auth, '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{speed_download}', url];
  const { stdout } = await run('taskset', args);
  const cpuMs = treeCpuMs(pid) - before;
  const [status, bytes, speed] = stdout.trim().split(' ').map(Number);
  if (status !== 200 || bytes !== size) throw new Error(`${url} answered ${status} with ${bytes} bytes, not 200 with ${size}`);
  return { mbs: speed / 1e6, cpuMsPerGiB: (cpuMs * 1024 ** 3) / size };
}

const f = (n, d = 1) => n.toFixed(d);

try {
  const [a, b] = [await start(positionals[0]), await start(positionals[1])];
  console.log(`${a.name} against ${b.name}: both on CPU ${serverCpu}, curl on ${clientCpus}; GET of ${mib} MiB, one each not counted, then ${rounds} rounds of A, B, B, A`);
  await a.get();
  await b.get();
  const turns = await turnsABBA(rounds, a.get, b.get, (r, x, y) =>
    console.log(`round ${r}: ${a.name} ${f(x.mbs, 0)} MB/s (${f(x.cpuMsPerGiB, 0)} ms of CPU per GiB), ${b.name} ${f(y.mbs, 0)} MB/s (${f(y.cpuMsPerGiB, 0)} ms): ${f(x.mbs / y.mbs, 3)} by rate`),
  );
  const [rateA, rateB] = turns.medians('mbs');
  const [cpuA, cpuB] = turns.medians('cpuMsPerGiB');
  console.log(`${a.name}/${b.name}, the median of the rounds' own ratios [lowest..highest]: by rate ${spread(turns.ratios('mbs'))}, by CPU time per GiB ${spread(turns.ratios('cpuMsPerGiB'))}`);
  console.log(`medians: ${a.name} ${f(rateA, 0)} MB/s and ${f(cpuA, 0)} ms per GiB, ${b.name} ${f(rateB, 0)} MB/s and ${f(cpuB, 0)} ms per GiB`);
} finally {
  await bench.cleanUp();
}
