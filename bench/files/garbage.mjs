#!/usr/bin/env node
/**
 * What a 4 KB GET leaves to V8's garbage collector: the bytes a Node server allocates per request
 * under `wrk -t2 -c64` (as run.mjs), and the functions that allocate them, sampled by V8's heap
 * profiler with the objects collected since counted too (`garbage-sampler.mjs`). The request rate
 * moves with the machine's other loads; this figure hardly does, so it tells two builds apart
 * where the rate cannot. Each server runs alone on the last CPU, `wrk` on the others; after a
 * second of wrk not counted, the profiler samples one run of `--seconds`.
 *
 *   node bench/files/garbage.mjs [--seconds 3] [--top 12] [--before DIST] A [B]
 *
 * A and B: `hearth`, `before` (the build in DIST), `floor`, `floor-file` (the floor sending Hearth's
 * headers for the file). With B, the functions are listed by how far A's bytes per request are
 * from B's. Needs `wrk` and `taskset`, and two CPUs or more.
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { onInterrupt, pinTree } from './peers.mjs';
import { checkServerKinds, printByFunction, serverAndClientCpus, smallFileFolder, startSmallFileServer, wrkSmallFile } from './small-get.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { seconds: { type: 'string', default: '3' }, top: { type: 'string', default: '12' }, before: { type: 'string' } },
});
const seconds = Number(values.seconds);
const top = Number(values.top);
checkServerKinds(positionals, [1, 2], values.before, 'node bench/files/garbage.mjs [--seconds 3] [--top 12] [--before DIST] A [B]');
if (!(seconds >= 1 && seconds <= 60 && top >= 1 && top <= 200)) {
  console.error('--seconds is 1-60 and --top 1-200');
  process.exit(2);
}
const { serverCpu, clientCpus } = serverAndClientCpus();
const { dir, root } = smallFileFolder('bench-garbage-');
const SAMPLER = fileURLToPath(new URL('./garbage-sampler.mjs', import.meta.url));

let server;
onInterrupt(() => Promise.resolve(server?.stop()).finally(() => rmSync(dir, { recursive: true, force: true })));

/** The requests one wrk run of `kind` had answered. */
async function wrk(kind, port, secs) {
  return (await wrkSmallFile({ name: kind, port, cpus: clientCpus, seconds: secs })).requests;
}

/** The sampler's answer to `message` (the one holding `key`; the server's own `listening` is not), or the server's exit. */
function reply(child, message, key) {
  return new Promise((resolve, reject) => {
    const exited = () => reject(new Error('the server exited'));
    const answered = (m) => {
      if (typeof m !== 'object' || m === null || !(key in m)) return;
      child.off('message', answered);
      child.off('exit', exited);
      resolve(m);
    };
    child.on('exit', exited);
    child.on('message', answered);
    child.send(message);
  });
}

/** Bytes allocated per request by `kind`, in all and by function. */
async function measure(kind, port) {
  server = await startSmallFileServer(kind, { port, dir, root, before: values.before, execArgv: ['--import', SAMPLER], ipc: true });
  try {
    pinTree(server.pid, serverCpu);
    await wrk(kind, port, 1);
    await reply(server.child, 'start', 'started');
    const requests = await wrk(kind, port, seconds);
    const { bytes } = await reply(server.child, 'stop', 'bytes');
    if (requests === 0) throw new Error(`${kind} answered no request`);
    const perRequest = new Map(bytes.map(([name, b]) => [name, b / requests]));
    let total = 0;
    for (const b of perRequest.values()) total += b;
    return { requests, total, perRequest };
  } finally {
    await server.stop();
    server = undefined;
  }
}

const f = (n) => Math.round(n).toLocaleString('en-US');
try {
  const results = [];
  for (const [i, kind] of positionals.entries()) results.push(await measure(kind, 18580 + i));
  for (const [i, kind] of positionals.entries()) {
    console.log(`${kind}: ${f(results[i].total)} bytes allocated per request (${results[i].requests} requests sampled over ${seconds} s)`);
  }
  const [a, b] = results;
  if (b !== undefined) console.log(`${positionals[0]}/${positionals[1]}: ${(a.total / b.total).toFixed(3)}\n`);
  printByFunction(positionals, results, { top, unit: 'bytes', functions: 'function (outermost of an optimized frame)' });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
