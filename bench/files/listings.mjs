#!/usr/bin/env node
/**
 * Two servers' PROPFIND Depth 1 of a folder of small files, listing after listing: both run at
 * once on the last CPU (curl on the others) and take turns, A, B, B, A in every round, so that a
 * drift of the machine's speed touches both alike; each round's ratio is of A's two listings to
 * B's two. Both are started once and warmed by `--warmups` listings each (Hearth keeps a listed
 * folder's responses from its second listing on: the rounds measure a folder listed over and
 * over). Every listing must hold one response per file and one for the folder.
 *
 *   node bench/files/listings.mjs [--rounds 12] [--files 10000] [--warmups 4] [--props NAMES] [--before DIST] A B
 *
 * `--props`: DAV properties to ask for by name, comma-separated (e.g. Finder's
 * `getlastmodified,getcontentlength,creationdate,resourcetype`), instead of allprop.
 *
 * A and B: `hearth` (this worktree's build), `before` (the build in DIST, as in run.mjs), `nginx`,
 * `apache`. Needs `curl` and `taskset`, and for the peers `nginx` with `libnginx-mod-http-dav-ext`,
 * `apache2`, and root (as run.mjs).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { ALLPROP, PINNED_KINDS, responsesIn, sideBySide, smallFilesFolder } from './peers.mjs';

const USAGE = `usage: node bench/files/listings.mjs [--rounds 12] [--files 10000] [--warmups 4] [--props NAMES] [--before DIST] A B   (${PINNED_KINDS.join(', ')})`;
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '12' }, files: { type: 'string', default: '10000' }, warmups: { type: 'string', default: '4' }, props: { type: 'string' }, before: { type: 'string' } },
});
const rounds = Number(values.rounds);
const files = Number(values.files);
const warmups = Number(values.warmups);
if (!(rounds >= 1 && rounds <= 100 && files >= 1 && files <= 100_000 && warmups >= 0 && warmups <= 100)) {
  console.error('--rounds is 1-100, --files 1-100000 and --warmups 0-100');
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

/** Starts server `kind` pinned to the server CPU: its name and how to list the folder. */
async function start(kind) {
  const { base, auth } = await bench.start(kind);
  return { name: kind, list: () => listing(`${base}/many/`, auth) };
}

const run = promisify(execFile);
const BODY = props === undefined ? ALLPROP : `<?xml version="1.0"?><propfind xmlns="DAV:"><prop>${props.map((p) => `<${p}/>`).join('')}</prop></propfind>`;

/** One listing's time (ms), from curl; throws unless the answer holds every member. */
async function listing(url, auth) {
  const args = ['-c', clientCpus, 'curl', '-sS', '--max-time', '120', ...auth, '-X', 'PROPFIND', '-H', 'Depth: 1', '-H', 'Content-Type: application/xml', '--data', BODY, '-w', '\n%{time_total}', url];
  const { stdout } = await run('taskset', args, { maxBuffer: 256 * 1024 * 1024 });
  const responses = responsesIn(stdout);
  if (responses !== files + 1) throw new Error(`${url} listed ${responses} responses, not ${files + 1}`);
  return Number(stdout.trimEnd().split('\n').at(-1)) * 1000;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const f = (n, d = 1) => n.toFixed(d);

try {
  const [a, b] = [await start(positionals[0]), await start(positionals[1])];
  console.log(`${a.name} against ${b.name}: both on CPU ${serverCpu}, curl on ${clientCpus}; a folder of ${files} files (${props === undefined ? 'allprop' : props.join(', ')}), ${warmups} listings each not counted, then ${rounds} rounds of A, B, B, A`);
  for (let i = 0; i < warmups; i++) {
    await a.list();
    await b.list();
  }
  const ratios = [];
  const timesA = [];
  const timesB = [];
  for (let r = 1; r <= rounds; r++) {
    const a1 = await a.list();
    const b1 = await b.list();
    const b2 = await b.list();
    const a2 = await a.list();
    const ratio = (a1 + a2) / (b1 + b2);
    ratios.push(ratio);
    timesA.push((a1 + a2) / 2);
    timesB.push((b1 + b2) / 2);
    console.log(`round ${r}: ${a.name} ${f((a1 + a2) / 2)} ms, ${b.name} ${f((b1 + b2) / 2)} ms: ${f(ratio, 3)}`);
  }
  const sorted = [...ratios].sort((x, y) => x - y);
  console.log(`${a.name}/${b.name}, the median of the rounds' own ratios [lowest..highest]: ${f(median(ratios), 3)} [${f(sorted[0], 3)}..${f(sorted.at(-1), 3)}] (medians ${f(median(timesA))} and ${f(median(timesB))} ms)`);
} finally {
  await bench.cleanUp();
}
