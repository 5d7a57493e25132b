/**
 * The servers of the file benchmark, each started on its own port over the same folder: Hearth's
 * file service and the bare node:http floor (`node-server.mjs`, cluster workers), nginx with the
 * dav and dav-ext modules, Apache with mod_dav and mod_dav_fs (event MPM). Access logs are off for
 * all of them; only Hearth asks for credentials (Basic, checked against an in-memory user).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const NODE_SERVER = fileURLToPath(new URL('./node-server.mjs', import.meta.url));

/** The folder the listings are measured on: `count` small files (`file-N.txt`, a line each) in `folder`, made. */
export function smallFilesFolder(folder, count) {
  mkdirSync(folder, { recursive: true });
  for (let i = 0; i < count; i++) {
    const fd = openSync(join(folder, `file-${i}.txt`), 'w');
    writeSync(fd, `file ${i}\n`);
    closeSync(fd);
  }
}

/** A PROPFIND body asking for every property. */
export const ALLPROP = '<?xml version="1.0"?><propfind xmlns="DAV:"><allprop/></propfind>';

/** How many `response` elements a multistatus holds (whatever the DAV prefix). */
export function responsesIn(xml) {
  return (xml.match(/<(\w+:)?response[ >]/g) ?? []).length;
}

/** Every pid below `root`, and root itself. */
export function treePids(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]) ?? []));
  return out;
}

/** Sum of RSS (KiB) over a process tree. */
export function treeRss(root) {
  let total = 0;
  for (const pid of treePids(root)) {
    try {
      total += Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** CPU time (user + system, ms) of a process tree so far. */
export function treeCpuMs(root) {
  let ticks = 0;
  for (const pid of treePids(root)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile
    }
  }
  return (ticks * 1000) / CLOCK_TICKS;
}

/**
 * `count` rounds of A, B, B, A turns (`turnA()`, `turnB()`: each gives its figures, numbers by
 * name), so that a drift of the machine's speed touches both alike. A round is A's two turns'
 * mean figures and B's, handed to `each(round, a, b)` as it ends; all of them are returned, with
 * `ratios(name)` (each round's A/B of that figure) and `medians(name)` (of A's and of B's).
 */
export async function turnsABBA(count, turnA, turnB, each) {
  const rounds = [];
  const mean = (x, y) => Object.fromEntries(Object.keys(x).map((k) => [k, (x[k] + y[k]) / 2]));
  for (let r = 1; r <= count; r++) {
    const a1 = await turnA();
    const b1 = await turnB();
    const b2 = await turnB();
    const a2 = await turnA();
    const round = { a: mean(a1, a2), b: mean(b1, b2) };
    each(r, round.a, round.b);
    rounds.push(round);
  }
  return {
    rounds,
    ratios: (name) => rounds.map((x) => x.a[name] / x.b[name]),
    medians: (name) => [median(rounds.map((x) => x.a[name])), median(rounds.map((x) => x.b[name]))],
  };
}

/** The median of `values` (of an even count, the mean of the two in the middle). */
export function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The median of `values` with the lowest and highest, as `1.234 [1.000..1.500]`. */
export const spread = (values) => `${median(values).toFixed(3)} [${Math.min(...values).toFixed(3)}..${Math.max(...values).toFixed(3)}]`;

/** The CPUs this process may run on (`Cpus_allowed_list` of /proc/self/status, e.g. `0-3,6`). */
export function allowedCpus() {
  const list = /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '';
  return list.split(',').flatMap((item) => {
    const [from, to = from] = item.split('-').map(Number);
    return Number.isInteger(from) && Number.isInteger(to) ? Array.from({ length: to - from + 1 }, (_, i) => from + i) : [];
  });
}

/** Move every process of the tree below `root`, with all its threads, to `cpus` (`taskset` list). */
export function pinTree(root, cpus) {
  for (const pid of treePids(root)) {
    try {
      execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
    } catch {
      // gone meanwhile
    }
  }
}

/** Until something answers HTTP on `port`; an error when `child` (when given) exits first, or after `ms`. */
async function waitPort(port, ms = 20_000, child = undefined) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (child !== undefined && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`the server for port ${port} exited (${child.exitCode ?? child.signalCode}) before it answered`);
    }
    const r = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/`]);
    if (r.stdout.toString() !== '000') return;
    await sleep(100);
  }
  throw new Error(`nothing answers on port ${port}`);
}

function started(child, port, name, startMs = undefined) {
  child.on('error', (err) => console.error(`${name}: ${err.message}`));
  // A server does not outlive the benchmark that started it, even one stopped while it starts.
  const stopOnExit = () => child.kill('SIGTERM');
  process.once('exit', stopOnExit);
  child.once('exit', () => process.off('exit', stopOnExit));
  return waitPort(port, startMs, child).then(() => ({
    name,
    pid: child.pid,
    port,
    child,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
    },
  }));
}

/**
 * The Node servers take `execArgv` (Node's own options, before the script), with `ipc` an IPC
 * channel to the server (`child.send`), with `wrapper` a program and its arguments that run
 * Node (`valgrind ...`), given `startMs` to answer (20 s otherwise), and with `cwd` the folder they
 * run in (where V8 writes the log that `--perf-basic-prof` turns on; this process's otherwise).
 */
const nodeStdio = (ipc) => (ipc ? ['ignore', 'ignore', 'inherit', 'ipc'] : ['ignore', 'ignore', 'inherit']);

function spawnNode(args, { ipc = false, wrapper = [], env = process.env, cwd }) {
  const [command, ...before] = [...wrapper, process.execPath];
  return spawn(command, [...before, ...args], { stdio: nodeStdio(ipc), env, cwd });
}

export function startHearth({ dataDir, root, port, workers, dist, name = 'hearth', execArgv = [], ipc, wrapper, startMs, cwd }) {
  const env = dist ? { ...process.env, FILES_DIST: dist } : process.env;
  const child = spawnNode([...execArgv, NODE_SERVER, 'hearth', dataDir, root, String(port), String(workers)], { ipc, wrapper, env, cwd });
  return started(child, port, name, startMs);
}

/** The bare node:http floor; with `headers` (a flat list of names and values), sending those for the benchmark's credentials. */
export function startFloor({ port, workers, headers, execArgv = [], ipc, wrapper, startMs, cwd }) {
  const args = [...execArgv, NODE_SERVER, 'floor', String(port), String(workers), ...(headers ? [JSON.stringify(headers)] : [])];
  const child = spawnNode(args, { ipc, wrapper, cwd });
  return started(child, port, headers ? 'node floor, file headers' : 'node floor', startMs);
}

/** On SIGINT, SIGTERM or SIGHUP: `stop()` (the servers, the scratch folder), then exit 130. */
export function onInterrupt(stop) {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      void Promise.resolve()
        .then(stop)
        .finally(() => process.exit(130));
    });
  }
}

/** The servers the side-by-side benchmarks (`listings.mjs`, `transfers.mjs`) compare. */
export const PINNED_KINDS = ['hearth', 'before', 'nginx', 'apache'];

/**
 * Server `kind` (one of `PINNED_KINDS`; `before` is the build in `beforeDist`, as in run.mjs) over
 * `root` on `port`, one process or worker, pinned to `cpu`; with the URL that serves `root` and
 * curl's arguments for the credentials it asks (Hearth's only).
 */
async function startPinned(kind, { dir, root, port, cpu, beforeDist }) {
  const hearth = kind === 'hearth' || kind === 'before';
  const server =
    kind === 'nginx'
      ? await startNginx({ dir, root, port, workers: 1 })
      : kind === 'apache'
        ? await startApache({ dir, root, port })
        : await startHearth({ dataDir: mkdtempSync(join(dir, `${kind}-data-`)), root, port, workers: 1, dist: kind === 'before' ? resolve(beforeDist) : undefined, name: kind });
  pinTree(server.pid, cpu);
  return { server, base: hearth ? `http://127.0.0.1:${port}/bench` : `http://127.0.0.1:${port}`, auth: hearth ? ['-u', 'bench:bench'] : [] };
}

/**
 * What the side-by-side benchmarks share: A and B (`kinds`) checked to be two of `PINNED_KINDS`,
 * `before` with its build (otherwise `usage` and exit 2); the server CPU (the last) and curl's
 * (the others: exit 2 with one CPU); a scratch folder `dir` with an empty `root` in it, which
 * Apache's workers can reach; `start(kind)`, a server there on the next port from `firstPort`,
 * pinned; and `cleanUp()`, which stops them and removes the folder (also on an interrupt).
 */
export function sideBySide({ prefix, usage, kinds, beforeDist, firstPort }) {
  if (kinds.length !== 2 || !kinds.every((k) => PINNED_KINDS.includes(k)) || kinds[0] === kinds[1]) {
    console.error(usage);
    process.exit(2);
  }
  if (kinds.includes('before') && beforeDist === undefined) {
    console.error('`before` needs --before DIST: the dist folder of another build of the file service');
    process.exit(2);
  }
  const cpus = allowedCpus();
  if (cpus.length < 2) {
    console.error('needs two CPUs: one for the servers, the others for curl');
    process.exit(2);
  }
  const serverCpu = String(cpus.at(-1));
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  const root = join(dir, 'root');
  mkdirSync(root);
  const servers = [];
  let port = firstPort;
  const cleanUp = async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop().catch(() => {})));
    rmSync(dir, { recursive: true, force: true });
  };
  onInterrupt(cleanUp);
  return {
    dir,
    root,
    serverCpu,
    clientCpus: cpus.slice(0, -1).join(','),
    start: async (kind) => {
      const started = await startPinned(kind, { dir, root, port: ++port, cpu: serverCpu, beforeDist });
      servers.push(started.server);
      return started;
    },
    cleanUp,
  };
}

export function startNginx({ dir, root, port, workers }) {
  mkdirSync(join(dir, 'nginx-tmp'), { recursive: true });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `load_module /usr/lib/nginx/modules/ngx_http_dav_ext_module.so;
user root;
worker_processes ${workers};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  client_max_body_size 0;
  client_body_temp_path ${dir}/nginx-tmp;
  proxy_temp_path ${dir}/nginx-tmp; fastcgi_temp_path ${dir}/nginx-tmp; uwsgi_temp_path ${dir}/nginx-tmp; scgi_temp_path ${dir}/nginx-tmp;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / {
      dav_methods PUT DELETE MKCOL COPY MOVE;
      dav_ext_methods PROPFIND OPTIONS;
      autoindex on;
    }
  }
}
`,
  );
  const child = spawn('nginx', ['-c', conf, '-e', join(dir, 'nginx-error.log')], { stdio: ['ignore', 'ignore', 'inherit'] });
  return started(child, port, 'nginx');
}

export function startApache({ dir, root, port }) {
  const mods = ['mpm_event', 'authz_core', 'mime', 'dir', 'dav', 'dav_fs'];
  const conf = join(dir, 'apache.conf');
  spawnSync('chown', ['-R', 'www-data', root]);
  mkdirSync(join(dir, 'apache'), { recursive: true });
  spawnSync('chown', ['www-data', join(dir, 'apache')]);
  writeFileSync(
    conf,
    `ServerRoot ${dir}
${mods.map((m) => `LoadModule ${m}_module /usr/lib/apache2/modules/mod_${m}.so`).join('\n')}
Listen 127.0.0.1:${port}
ServerName localhost
PidFile ${dir}/apache/apache.pid
ErrorLog ${dir}/apache-error.log
User www-data
Group www-data
TypesConfig /etc/mime.types
DavLockDB ${dir}/apache/davlock
KeepAlive On
MaxKeepAliveRequests 0
DocumentRoot ${root}
<Directory ${root}>
  Dav On
  Require all granted
</Directory>
`,
  );
  const child = spawn('apache2', ['-f', conf, '-DFOREGROUND'], { stdio: ['ignore', 'ignore', 'inherit'] });
  return started(child, port, 'apache');
}
