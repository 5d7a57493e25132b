/**
 * Full SNMP walk: the Hearth agent (6 services, the default suite's size, and 100) against Debian's
 * snmpd serving a table of about the same number of varbinds (NET-SNMP-EXTEND-MIB: `extend`
 * entries, their output cached), in the same run. For each: varbinds, wall time of a walk with
 * snmpbulkwalk (-Cr10, its default) and snmpwalk (GetNext), and the agent's CPU per walk (its
 * utime + stime from /proc, over all the walks). Median of RUNS walks.
 *
 *   node bench/snmp/run.mjs [--runs 7] [--services 6,100]
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitExit } from '../lib/processes.mjs';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' }, services: { type: 'string', default: '6,100' } } });
const RUNS = Number(values.runs);
const SIZES = values.services.split(',').map(Number);
const COMMUNITY = 'bench-community';
const AGENT = fileURLToPath(new URL('./agent.mjs', import.meta.url));
const EXTEND_OID = '.1.3.6.1.4.1.8072.1.3';
const HEARTH_OID = '.1.3.6.1.4.1.32473';
const CLK_TCK = 100;

function run(cmd, args) {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { maxBuffer: 256 * 1024 * 1024, env: { ...process.env, SNMPCONFPATH: '/nonexistent', MIBS: '' } }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    ),
  );
}

async function freeUdpPort() {
  // A TCP port free now is very likely free for UDP too; snmpd fails loudly if not.
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

async function cpuTicks(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function countVarbinds(port, oid) {
  const out = await run('snmpbulkwalk', ['-v2c', '-c', COMMUNITY, '-Oqn', '-t', '5', `127.0.0.1:${port}`, oid]);
  return out.split('\n').filter((l) => l.startsWith('.')).length;
}

/** RUNS walks of each kind; wall ms (median) and agent CPU ms per walk (mean). */
async function measure(pid, port, oid) {
  const result = {};
  for (const [name, tool, extra] of [
    ['bulkwalk', 'snmpbulkwalk', ['-Cr10']],
    ['walk', 'snmpwalk', []],
  ]) {
    const args = ['-v2c', '-c', COMMUNITY, '-Oqn', '-t', '5', ...extra, `127.0.0.1:${port}`, oid];
    await run(tool, args); // warm
    const walls = [];
    const cpu0 = await cpuTicks(pid);
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      await run(tool, args);
      walls.push(performance.now() - t);
    }
    const cpu = ((await cpuTicks(pid)) - cpu0) * (1000 / CLK_TCK);
    result[name] = { wallMs: median(walls), cpuMs: cpu / RUNS };
  }
  return result;
}

async function startHearth(services, dir) {
  const child = spawn(process.execPath, [AGENT, String(services), COMMUNITY, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`agent exited ${code}`)));
  });
  return { pid: child.pid, port, stop: async () => (child.kill('SIGTERM'), waitExit(child.pid, 3000)) };
}

async function startSnmpd(extends_, dir) {
  const port = await freeUdpPort();
  const conf = join(dir, `snmpd-${extends_}.conf`);
  const lines = [`rocommunity ${COMMUNITY} 127.0.0.1`];
  for (let i = 1; i <= extends_; i++) lines.push(`extend -cacheTime 3600 e${i} /bin/echo value${i}`);
  await writeFile(conf, `${lines.join('\n')}\n`);
  const child = spawn('snmpd', ['-f', '-Lo', '-C', '-c', conf, `udp:127.0.0.1:${port}`], {
    stdio: ['ignore', 'ignore', 'ignore'],
    env: { ...process.env, SNMP_PERSISTENT_DIR: dir },
  });
  for (let i = 0; i < 100; i++) {
    try {
      await run('snmpget', ['-v2c', '-c', COMMUNITY, '-t', '0.2', '-r', '0', `127.0.0.1:${port}`, '.1.3.6.1.2.1.1.3.0']);
      break;
    } catch {
      await sleep(50);
    }
  }
  return { pid: child.pid, port, stop: async () => (child.kill('SIGTERM'), waitExit(child.pid, 3000)) };
}

const dir = await mkdtemp(join(tmpdir(), 'hearth-bench-snmp-'));
const rows = [];
try {
  // varbinds per extend entry, measured once
  const probe = await startSnmpd(10, dir);
  const perExtend = (await countVarbinds(probe.port, EXTEND_OID)) / 10;
  await probe.stop();
  for (const services of SIZES) {
    const hearth = await startHearth(services, dir);
    const varbinds = await countVarbinds(hearth.port, HEARTH_OID);
    const all = await countVarbinds(hearth.port, '.1');
    const h = await measure(hearth.pid, hearth.port, '.1');
    await hearth.stop();
    const extendsN = Math.max(1, Math.round(all / perExtend));
    const snmpd = await startSnmpd(extendsN, dir);
    const sVarbinds = await countVarbinds(snmpd.port, EXTEND_OID);
    const s = await measure(snmpd.pid, snmpd.port, EXTEND_OID);
    await snmpd.stop();
    rows.push({ services, hearthVarbinds: all, hearthMibVarbinds: varbinds, snmpdVarbinds: sVarbinds, extends: extendsN, hearth: h, snmpd: s });
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

const fmt = (x) => x.toFixed(1);
console.log(`SNMP full walk, median of ${RUNS} (wall includes the tool's own start, ~same for both); CPU is the agent's per walk`);
console.log('services | varbinds hearth/snmpd | bulkwalk ms hearth/snmpd (ratio) | walk ms hearth/snmpd (ratio) | CPU ms/bulkwalk hearth/snmpd | CPU ms/walk hearth/snmpd');
for (const r of rows) {
  const ratio = (a, b) => (a / b).toFixed(2);
  console.log(
    `${r.services} | ${r.hearthVarbinds}/${r.snmpdVarbinds} | ${fmt(r.hearth.bulkwalk.wallMs)}/${fmt(r.snmpd.bulkwalk.wallMs)} (${ratio(r.hearth.bulkwalk.wallMs, r.snmpd.bulkwalk.wallMs)}) | ` +
      `${fmt(r.hearth.walk.wallMs)}/${fmt(r.snmpd.walk.wallMs)} (${ratio(r.hearth.walk.wallMs, r.snmpd.walk.wallMs)}) | ${fmt(r.hearth.bulkwalk.cpuMs)}/${fmt(r.snmpd.bulkwalk.cpuMs)} | ${fmt(r.hearth.walk.cpuMs)}/${fmt(r.snmpd.walk.cpuMs)}`,
  );
}
console.log(JSON.stringify(rows));
