/**
 * The two servers under test, started and stopped by the bench: Hearth (`hearth up` with only the
 * pop3 service) and Dovecot (`dovecot -F` with a config from `dovecot/`), plus memory
 * readings from /proc.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { alive, memoryOf, waitExit } from '../lib/processes.mjs';

// ---- processes and memory ----------------------------------------------------------------------

export { alive, memoryOf };

/** Every process below `root` (not included), from /proc/PID/stat. */
export function descendants(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/** Sum of PSS and RSS (KiB) and the count of a process and everything below it. */
export function treeMemory(root) {
  const pids = [root, ...descendants(root)];
  let pss = 0;
  let rss = 0;
  for (const pid of pids) {
    const m = memoryOf(pid);
    pss += m?.pss ?? 0;
    rss += m?.rss ?? 0;
  }
  return { pss, rss, processes: pids.length };
}

async function waitGreeting(port, deadline, child, what) {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`);
    const ok = await new Promise((done) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      const finish = (v) => {
        s.destroy();
        done(v);
      };
      s.setTimeout(2000, () => finish(false));
      s.once('data', (d) => finish(d.toString('latin1').startsWith('+OK')));
      s.once('error', () => finish(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what}: no POP3 greeting on port ${port}`);
    await sleep(50);
  }
}

// ---- Hearth ------------------------------------------------------------------------------------

/** `hearth up` with only pop3 on `port`, room for `maxSessions` connections from 127.0.0.1. */
export async function startHearth({ repoRoot, dir, dataDir, port, maxSessions }) {
  const cli = join(repoRoot, 'packages/cli/dist/main.js');
  const config = join(dir, 'hearth.yaml');
  writeFileSync(
    config,
    [
      'services:',
      '  pop3:',
      '    service: pop3',
      `    listen: { pop3: { address: 127.0.0.1, port: ${port} } }`,
      `    limits: { nofile: ${maxSessions + 1024} }`,
      `    settings: { maxConnections: ${maxSessions + 100}, maxConnectionsPerIp: ${maxSessions + 100} }`,
      '',
    ].join('\n'),
  );
  const log = openSync(join(dir, 'hearth.log'), 'a');
  const child = spawn(process.execPath, [cli, 'up', '--config', config, '--data', dataDir], { detached: true, stdio: ['ignore', log, log] });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(child.pid, 'SIGTERM');
    if (!(await waitExit(child.pid, 20_000))) {
      for (const pid of descendants(child.pid)) process.kill(pid, 'SIGKILL');
      process.kill(child.pid, 'SIGKILL');
    }
  };
  try {
    await waitGreeting(port, Date.now() + 30_000, child, 'hearth up');
    const status = spawnSync(process.execPath, [cli, 'status', '--json', '--data', dataDir], { encoding: 'utf8', timeout: 20_000 });
    const pop3 = JSON.parse(status.stdout).find((s) => s.name === 'pop3');
    if (!pop3?.pid) throw new Error(`hearth status: no pop3 pid (${status.stdout}${status.stderr})`);
    return { supervisorPid: child.pid, pop3Pid: pop3.pid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

// ---- Dovecot -----------------------------------------------------------------------------------

/** The vmail user of the anchor config (a system user, created if missing) and its ids. */
export function mailOwner() {
  const lookup = () => spawnSync('id', ['-u', 'vmail'], { encoding: 'utf8' });
  if (lookup().status !== 0) {
    const r = spawnSync('useradd', ['--system', '--no-create-home', '--user-group', '--shell', '/usr/sbin/nologin', 'vmail'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`useradd vmail failed: ${r.stderr}`);
  }
  const uid = Number(lookup().stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'vmail'], { encoding: 'utf8' }).stdout.trim());
  return { uid, gid };
}

/**
 * The anchor config with @ROOT@ replaced, free ports, `first_valid_uid` lowered to vmail's uid,
 * and the process/client limits raised to hold `maxSessions` logged-in sessions (one pop3 process
 * each in both variants). The run, state and log paths go under `dovecot/INSTANCE/` so that both
 * variants can run at once (the bench measures them in turns). Nothing else changes.
 */
export function dovecotConfig(template, { root, port, portTls, owner, maxSessions, instance }) {
  const processLimit = Math.max(2000, maxSessions + 200);
  const clientLimit = Math.max(10_000, 2 * maxSessions + 1000);
  let text = template.replaceAll('@ROOT@', root);
  for (const own of ['run', 'state', 'dovecot.log', 'dovecot-info.log']) {
    text = text.replaceAll(`${root}/dovecot/${own}`, `${root}/dovecot/${instance}/${own}`);
  }
  const replace = (from, to) => {
    if (!from.test(text)) throw new Error(`Dovecot template: ${from} not found`);
    text = text.replace(from, to);
  };
  replace(/port = 11110/, `port = ${port}`);
  replace(/port = 11995/, `port = ${portTls}`);
  replace(/^first_valid_uid = \d+$/m, `first_valid_uid = ${Math.min(999, owner.uid)}`);
  replace(/^default_process_limit = \d+$/m, `default_process_limit = ${processLimit}`);
  replace(/^default_client_limit = \d+$/m, `default_client_limit = ${clientLimit}`);
  text = text.replace(/^(\s*)process_limit = \d+$/gm, `$1process_limit = ${processLimit}`);
  text = text.replace(/^(\s*)client_limit = \d+$/gm, `$1client_limit = ${clientLimit}`);
  return text;
}

export async function startDovecot({ dir, config, port, instance }) {
  mkdirSync(join(dir, 'dovecot', instance), { recursive: true });
  const file = join(dir, 'dovecot', instance, 'dovecot.conf');
  writeFileSync(file, config);
  const log = openSync(join(dir, 'dovecot', instance, 'stderr.log'), 'a');
  const child = spawn('dovecot', ['-F', '-c', file], { detached: true, stdio: ['ignore', log, log] });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const below = descendants(child.pid);
    process.kill(child.pid, 'SIGTERM');
    if (!(await waitExit(child.pid, 20_000))) process.kill(child.pid, 'SIGKILL');
    for (const pid of below) if (alive(pid)) process.kill(pid, 'SIGKILL');
  };
  try {
    await waitGreeting(port, Date.now() + 30_000, child, 'dovecot');
    return { masterPid: child.pid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export function ensureDovecot() {
  if (spawnSync('sh', ['-c', 'command -v dovecot && test -x /usr/lib/dovecot/pop3']).status === 0) return;
  console.error('installing dovecot-pop3d (apt-get)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const r = spawnSync('apt-get', ['install', '-y', '-qq', 'dovecot-pop3d'], { stdio: 'inherit', env });
  if (r.status !== 0) throw new Error('apt-get install dovecot-pop3d failed');
}

export function readTemplate(path) {
  return readFileSync(path, 'utf8');
}
