#!/usr/bin/env node
/**
 * Two Node servers' 4 KB GET side by side: both run at the same time on the same CPU (the last
 * one), each under its own wrk on the other CPUs, so that whatever else loads the machine touches
 * both at the same moment. Each round starts both afresh; the figures are each round's own ratios
 * of A to B, by requests per second and by CPU time per request, and their medians.
 *
 * With `--turns` the two take turns instead, under the benchmark's own load (`wrk -t2 -c64`, as
 * run.mjs): in each round A, B, B, A, each for `--seconds`, both servers kept running on that CPU
 * (only one loaded at a time, so they do not share the CPU's caches as they do at once); the
 * round's ratios are of A's two turns to B's two.
 *
 *   node bench/files/paired.mjs [--rounds 8] [--seconds 4] [--turns] [--before DIST] A B
 *
 * A and B: `hearth` (this worktree's build), `before` (the build in DIST, as in run.mjs), `floor`
 * (the bare node:http server), `floor-file` (the floor sending Hearth's headers for the file).
 * Needs `wrk` and `taskset`, and two CPUs or more.
 */
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { median, onInterrupt, pinTree, treeCpuMs } from './peers.mjs';
import { checkServerKinds, serverAndClientCpus, smallFileFolder, startSmallFileServer, wrkSmallFile } from './small-get.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '8' }, seconds: { type: 'string', default: '4' }, turns: { type: 'boolean', default: false }, before: { type: 'string' } },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const turns = values.turns;
checkServerKinds(positionals, 2, values.before, 'node bench/files/paired.mjs [--rounds 8] [--seconds 4] [--turns] [--before DIST] A B');
if (!(rounds >= 1 && rounds <= 100 && seconds >= 1 && seconds <= 60)) {
  console.error('--rounds is 1-100 and --seconds 1-60');
  process.exit(2);
}
const { serverCpu, clientCpus } = serverAndClientCpus();
const { dir, root } = smallFileFolder('bench-paired-');

let port = 18480;
function start(kind) {
  return startSmallFileServer(kind, { port: port++, dir, root, before: values.before });
}

/**
 * Requests per second and requests answered of one wrk against `server` (32 connections on one
 * thread, or with `turns` run.mjs's 64 on two); only answers with the file count.
 */
function wrk(server, secs) {
  const [threads, connections] = turns ? [2, 64] : [1, 32];
  return wrkSmallFile({ name: server.name, port: server.port, cpus: clientCpus, threads, connections, seconds: secs });
}

const servers = new Set();
async function stopAll() {
  await Promise.all([...servers].map((s) => s.stop().catch(() => {})));
  servers.clear();
}
onInterrupt(() => stopAll().finally(() => rmSync(dir, { recursive: true, force: true })));

const [nameA, nameB] = positionals;

/** Both servers under load at once: each one's rate, requests and CPU time. */
async function atOnce(a, b) {
  await Promise.all([wrk(a, 1), wrk(b, 1)]);
  const before = [treeCpuMs(a.pid), treeCpuMs(b.pid)];
  const [ra, rb] = await Promise.all([wrk(a, seconds), wrk(b, seconds)]);
  return [
    { ...ra, cpuMs: treeCpuMs(a.pid) - before[0] },
    { ...rb, cpuMs: treeCpuMs(b.pid) - before[1] },
  ];
}

/** The servers in turns, A B B A: each one's two turns together (the rate their mean). */
async function takeTurns(a, b) {
  await wrk(a, 1);
  await wrk(b, 1);
  const sum = new Map([a, b].map((s) => [s, { rps: 0, requests: 0, cpuMs: 0 }]));
  for (const server of [a, b, b, a]) {
    const cpu = treeCpuMs(server.pid);
    const r = await wrk(server, seconds);
    const total = sum.get(server);
    total.rps += r.rps / 2;
    total.requests += r.requests;
    total.cpuMs += treeCpuMs(server.pid) - cpu;
  }
  return [sum.get(a), sum.get(b)];
}
const byRate = [];
const byCpu = [];
try {
  console.log(
    turns
      ? `${nameA} against ${nameB}: both on CPU ${serverCpu}, taking turns (${nameA}, ${nameB}, ${nameB}, ${nameA}) under wrk -t2 -c64 on CPU ${clientCpus}, ${rounds} rounds of four turns of ${seconds} s after 1 s each not counted`
      : `${nameA} against ${nameB}: both on CPU ${serverCpu}, wrk -t1 -c32 each on CPU ${clientCpus}, ${rounds} rounds of ${seconds} s after 1 s not counted`,
  );
  for (let r = 0; r < rounds; r++) {
    // Each server is stopped at the end even when the other one fails to start.
    const [a, b] = await Promise.all([nameA, nameB].map((kind) => start(kind).then((server) => (servers.add(server), server))));
    pinTree(a.pid, serverCpu);
    pinTree(b.pid, serverCpu);
    const [ra, rb] = turns ? await takeTurns(a, b) : await atOnce(a, b);
    const usA = ra.cpuMs * 1000 / ra.requests;
    const usB = rb.cpuMs * 1000 / rb.requests;
    await stopAll();
    byRate.push(ra.rps / rb.rps);
    byCpu.push(usB / usA);
    console.log(`round ${r + 1}: ${nameA} ${Math.round(ra.rps)} req/s ${usA.toFixed(1)} µs, ${nameB} ${Math.round(rb.rps)} req/s ${usB.toFixed(1)} µs: ${(ra.rps / rb.rps).toFixed(3)} by rate, ${(usB / usA).toFixed(3)} by CPU`);
  }
  const range = (xs) => `${median(xs).toFixed(3)} [${Math.min(...xs).toFixed(3)}..${Math.max(...xs).toFixed(3)}]`;
  console.log(`${nameA}/${nameB}, medians of the rounds' own ratios [lowest..highest]: by rate ${range(byRate)}, by CPU per request ${range(byCpu)}`);
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
