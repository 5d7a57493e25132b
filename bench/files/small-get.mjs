/**
 * What the 4 KB GET measurements of single Node servers share (`paired.mjs`, `garbage.mjs`,
 * `instructions.mjs`, `samples.mjs`): the scratch folder with the file, the CPUs for the servers
 * and for wrk, one wrk run of GETs of the file, the servers by name, the JIT map's names, and the
 * tables of figures by function. The servers serve the folder's `root` as share `bench`
 * (`node-server.mjs`).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { allowedCpus, startFloor, startHearth } from './peers.mjs';

/** The benchmark's credentials (`node-server.mjs`'s user), as an Authorization header's value. */
export const CREDENTIALS = `Basic ${Buffer.from('bench:bench').toString('base64')}`;
const run = promisify(execFile);

/** Where Node (`--perf-basic-prof`) writes the names of process `pid`'s JIT-compiled code. */
export const perfMapOf = (pid) => `/tmp/perf-${pid}.map`;

/** A JIT-compiled function's name from that map with its file given by the last part of its URL. */
export const shortFileIn = (name) => name.replace(/file:\/\/\S*\/(?=[^/\s]+:\d+:\d+$)/, '');

/** A new scratch folder (`dir`) holding `root/small.bin`, 4 KB. */
export function smallFileFolder(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const root = join(dir, 'root');
  mkdirSync(root);
  writeFileSync(join(root, 'small.bin'), Buffer.alloc(4096, 's'));
  return { dir, root };
}

/** The last CPU this process may use for the servers, the others (a `taskset` list) for wrk; exits when there is only one. */
export function serverAndClientCpus() {
  const allowed = allowedCpus();
  if (allowed.length < 2) {
    console.error('needs two CPUs: one for the servers, the others for wrk');
    process.exit(2);
  }
  return { serverCpu: String(allowed[allowed.length - 1]), clientCpus: allowed.slice(0, -1).join(',') };
}

/**
 * One wrk run of GETs of the file on `port`, on `cpus`, with the benchmark's credentials, by
 * default under run.mjs's load (`-t2 -c64`): requests per second and requests answered. Only
 * answers with the file count: an error names `name` when some were not.
 */
export async function wrkSmallFile({ name, port, cpus, threads = 2, connections = 64, seconds }) {
  const url = `http://127.0.0.1:${port}/bench/small.bin`;
  const { stdout } = await run('taskset', ['-c', cpus, 'wrk', `-t${threads}`, `-c${connections}`, `-d${seconds}s`, '-H', `Authorization: ${CREDENTIALS}`, url]);
  const refused = /Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1];
  if (refused !== undefined) throw new Error(`${name} did not answer ${refused} 4 KB GETs with the file`);
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0), requests: Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0) };
}

/**
 * The servers a measurement names: this worktree's build, another build (`--before DIST`), the bare
 * floor, and the floor sending the headers this worktree's build answers the file with.
 */
export const SERVER_KINDS = ['hearth', 'before', 'floor', 'floor-file'];

/**
 * Exits with `usage` (which lists the kinds after it) unless `names` are `count` (a number or
 * `[min, max]`) server kinds, or when `before` is named without `--before`.
 */
export function checkServerKinds(names, count, before, usage) {
  const [min, max] = Array.isArray(count) ? count : [count, count];
  if (names.length < min || names.length > max || !names.every((k) => SERVER_KINDS.includes(k))) {
    console.error(`usage: ${usage}   (${SERVER_KINDS.join(', ')})`);
    process.exit(2);
  }
  if (names.includes('before') && before === undefined) {
    console.error('`before` needs --before DIST: the dist folder of another build of the file service');
    process.exit(2);
  }
}

/**
 * Starts server `kind` on `port` (one process, run in `dir`: what V8 writes there goes with it)
 * over the folder's `root`, with a data folder of its own under `dir`; `before`: the `--before`
 * dist folder; `options`: `peers.mjs`'s `execArgv`, `ipc`, `wrapper`, `startMs`.
 */
export async function startSmallFileServer(kind, { port, dir, root, before, ...options }) {
  if (kind === 'floor') return startFloor({ port, workers: 1, cwd: dir, ...options });
  if (kind === 'floor-file') {
    const hearth = await startSmallFileServer('hearth', { port, dir, root });
    let headers;
    try {
      headers = await fileAnswerHeaders(`http://127.0.0.1:${port}/bench/small.bin`);
    } finally {
      await hearth.stop();
    }
    return startFloor({ port, workers: 1, headers, cwd: dir, ...options });
  }
  const dist = kind === 'before' ? resolve(before) : undefined;
  return startHearth({ dataDir: mkdtempSync(join(dir, 'data-')), root, port, workers: 1, dist, name: kind, cwd: dir, ...options });
}

/**
 * The headers a Hearth file service answers a GET of `url` with (the benchmark's credentials), as a
 * flat list of names and values, without those Node adds to every response (Date, Connection,
 * Keep-Alive): what the `floor-file` server sends.
 */
export function fileAnswerHeaders(url) {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, headers: { Authorization: CREDENTIALS } }, (res) => {
      res.resume();
      if (res.statusCode !== 200) return reject(new Error(`hearth answered the 4 KB GET with ${res.statusCode}`));
      const headers = [];
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        if (!/^(date|connection|keep-alive)$/i.test(res.rawHeaders[i])) headers.push(res.rawHeaders[i], res.rawHeaders[i + 1]);
      }
      resolve(headers);
    });
    req.on('error', reject);
  });
}

const thousands = (n) => Math.round(n).toLocaleString('en-US');

/**
 * A measurement's figures by function, for one server (`perRequest`: function name to its amount
 * per request) largest first, or for two by how far A's are from B's; `top` rows. `unit` names
 * the amounts (`bytes`), `functions` heads the names' column.
 */
export function printByFunction([nameA, nameB], [a, b], { top, unit, functions }) {
  if (b === undefined) {
    const head = `${unit} per request`;
    console.log(`\n${head}  ${functions}`);
    for (const [name, n] of [...a.perRequest].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`${thousands(n).padStart(head.length)}  ${name}`);
    return;
  }
  console.log(`${'difference'.padStart(10)} ${nameA.padStart(8)} ${nameB.padStart(8)}  ${functions}`);
  const names = new Set([...a.perRequest.keys(), ...b.perRequest.keys()]);
  const diff = (name) => (a.perRequest.get(name) ?? 0) - (b.perRequest.get(name) ?? 0);
  for (const name of [...names].sort((x, y) => Math.abs(diff(y)) - Math.abs(diff(x))).slice(0, top)) {
    const d = diff(name);
    console.log(`${`${d >= 0 ? '+' : '-'}${thousands(Math.abs(d))}`.padStart(10)} ${thousands(a.perRequest.get(name) ?? 0).padStart(8)} ${thousands(b.perRequest.get(name) ?? 0).padStart(8)}  ${name}`);
  }
}
