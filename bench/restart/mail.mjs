// Restarts under a churn of full mail sessions: Hearth's pop3 and smtp (`hearth restart`,
// overlapped, draining) against Dovecot (`doveadm reload`) and Postfix (`postfix reload`), in one run.
// Usage: node bench/restart/mail.mjs [--seconds 6] [--loops 4] [--restarts 5]
// Needs (Debian): dovecot-pop3d, postfix ("Local only"), system users `vmail` (Dovecot's mail
// owner) and `churnsink` (Postfix's recipient, with a home). Loopback only; everything it starts is
// stopped at the end and the temp dir removed (Postfix's listener line is removed from master.cf).
import { execFile } from 'node:child_process';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { freePort, startMailChurn, waitFor } from '@hearth/testkit';
import { addUsers, openStore } from '@hearth/testkit/suite';
import { restartEvenly } from './schedule.mjs';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const HEARTH = join(ROOT, 'packages/cli/dist/main.js');
const SUPERVISOR = join(ROOT, 'packages/supervisor/dist/index.js');
/** Dovecot's default-tuned config, the POP3 benchmark's (`@ROOT@` and its ports replaced below). */
const PEER_CONF = join(ROOT, 'bench/pop3/dovecot/default.conf');

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '6' }, loops: { type: 'string', default: '4' }, restarts: { type: 'string', default: '5' } },
});
const SECONDS = Number(values.seconds);
const LOOPS = Number(values.loops);
const RESTARTS = Number(values.restarts);
const USERS = Array.from({ length: LOOPS }, (_, i) => `p${i}`);
/** Runs a command that leaves a daemon behind: no pipes for the daemon to hold open. */
const daemon = (cmd, args) =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`))));
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cleanups = [];
const tmp = mkdtempSync(join(tmpdir(), 'hearth-bench-mail-'));
cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));
// Dovecot's auth process (user dovecot) reads its users file under it.
chmodSync(tmp, 0o755);

/** Churn for SECONDS; `restart(i)` is called RESTARTS times, evenly spaced. */
async function measure(churnOptions, restart) {
  const churn = startMailChurn({ ...churnOptions, tag: `m${Date.now()}` });
  const t0 = performance.now();
  const windows = restart ? await restartEvenly(SECONDS * 1000, RESTARTS, restart) : [];
  await sleep(Math.max(0, t0 + SECONDS * 1000 - performance.now()));
  const r = await churn.stop();
  return { sessions: r.sessions, cut: r.failed, failures: r.failures.slice(0, 3), accepted: r.accepted, perSecond: r.ok / (r.elapsedMs / 1000), restartMs: windows.map(([a, b]) => b - a) };
}

async function hearth() {
  const data = join(tmp, 'hearth');
  await addUsers(data, [...USERS, 'sink']);
  const store = await openStore(data);
  for (const user of USERS) await store.deliver({ recipients: [user], body: `Subject: seed\r\n\r\nFor ${user}.\r\n` });
  await store.close();
  const ports = { smtp: await freePort(), pop3: await freePort() };
  const config = join(tmp, 'hearth.yaml');
  writeFileSync(
    config,
    `log: { level: warn }\nservices:\n  smtp:\n    service: smtp\n    listen: { mx: { port: ${ports.smtp} } }\n  pop3:\n    service: pop3\n    listen: { pop3: { port: ${ports.pop3} } }\n`,
  );
  const up = spawn(process.execPath, [HEARTH, 'up', '--config', config, '--data', data], { stdio: ['ignore', 'ignore', 'inherit'] });
  cleanups.push(() => up.kill('SIGTERM'));
  const { controlRequest } = await import(SUPERVISOR);
  const sock = join(data, 'hearth.sock');
  await waitFor(async () => {
    const rows = await controlRequest(sock, { verb: 'status' }).catch(() => []);
    return rows.length === 2 && rows.every((r) => r.state === 'running');
  }, { timeout: 60_000 });
  const options = {
    pop3: { port: ports.pop3, accounts: USERS.map((user) => ({ user, password: `${user}-pw` })) },
    smtp: { port: ports.smtp, recipient: 'sink@localhost', loops: LOOPS },
  };
  const baseline = await measure(options);
  const restarts = await measure(options, (i) => controlRequest(sock, { verb: 'restart', name: i % 2 ? 'pop3' : 'smtp' }, { timeoutMs: 60_000 }));
  up.kill('SIGTERM');
  await new Promise((r) => up.once('close', r));
  const after = await openStore(data);
  const stored = after.listMessages('sink').length;
  await after.close();
  const accepted = baseline.accepted.length + restarts.accepted.length;
  return { baseline, restarts, lost: accepted - stored };
}

/** Dovecot POP3 from the shared peer config on free ports; `doveadm reload` as the restart. */
async function dovecot() {
  const root = join(tmp, 'dc');
  const port = await freePort();
  mkdirSync(join(root, 'dovecot/run'), { recursive: true });
  mkdirSync(join(root, 'dovecot/state'), { recursive: true });
  mkdirSync(join(root, 'certs'), { recursive: true });
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', join(root, 'certs/key.pem'), '-out', join(root, 'certs/cert.pem')]);
  const conf = readFileSync(PEER_CONF, 'utf8')
    .replaceAll('@ROOT@', root)
    .replace('port = 11110', `port = ${port}`)
    .replace('port = 11995', `port = ${await freePort()}`);
  writeFileSync(join(root, 'dovecot/dovecot.conf'), conf);
  writeFileSync(join(root, 'dovecot/users'), USERS.map((u) => `${u}:{PLAIN}${u}-pw::::::`).join('\n') + '\n');
  const vmail = Number((await run('id', ['-u', 'vmail'])).stdout);
  const vgid = Number((await run('id', ['-g', 'vmail'])).stdout);
  for (const u of USERS) {
    const md = join(root, 'mail', u, 'Maildir');
    for (const sub of ['new', 'cur', 'tmp']) mkdirSync(join(md, sub), { recursive: true });
    writeFileSync(join(md, 'new', `1.seed.localhost`), `Subject: seed\r\n\r\nFor ${u}.\r\n`);
    await run('chown', ['-R', `${vmail}:${vgid}`, join(root, 'mail', u)]);
  }
  chownSync(join(root, 'mail'), vmail, vgid);
  const confFile = join(root, 'dovecot/dovecot.conf');
  await daemon('dovecot', ['-c', confFile]);
  cleanups.push(() => run('doveadm', ['-c', confFile, 'stop']).catch(() => {}));
  await waitFor(async () => {
    const c = startMailChurn({ pop3: { port, accounts: [{ user: USERS[0], password: `${USERS[0]}-pw` }] } });
    await sleep(300);
    return (await c.stop()).ok > 0;
  }, { timeout: 15_000 });
  const options = { pop3: { port, accounts: USERS.map((user) => ({ user, password: `${user}-pw` })) } };
  const baseline = await measure(options);
  const restarts = await measure(options, () => run('doveadm', ['-c', confFile, 'reload']));
  await run('doveadm', ['-c', confFile, 'stop']).catch(() => {});
  return { baseline, restarts };
}

/** Postfix (the system instance) with a listener on a free port; `postfix reload` as the restart. */
async function postfix() {
  const port = await freePort();
  const service = `127.0.0.1:${port}`;
  const master = readFileSync('/etc/postfix/master.cf', 'utf8');
  cleanups.push(() => writeFileSync('/etc/postfix/master.cf', master));
  writeFileSync('/etc/postfix/master.cf', `${master}${service} inet n - y - - smtpd\n`);
  for (const setting of ['home_mailbox = Maildir/', 'mydestination = localhost', 'mynetworks = 127.0.0.0/8', 'inet_interfaces = loopback-only', 'default_process_limit = 200', 'smtpd_client_connection_count_limit = 0', 'smtpd_client_connection_rate_limit = 0', 'in_flow_delay = 0']) {
    await run('postconf', ['-e', setting]);
  }
  const home = (await run('sh', ['-c', 'getent passwd churnsink | cut -d: -f6'])).stdout.trim();
  const maildir = join(home, 'Maildir');
  rmSync(maildir, { recursive: true, force: true });
  await daemon('/usr/lib/postfix/configure-instance.sh', ['-']).catch(() => {});
  const running = await run('postfix', ['status']).then(() => true, () => false);
  await daemon('postfix', [running ? 'reload' : 'start']);
  cleanups.push(() => (running ? run('postfix', ['reload']) : run('postfix', ['stop'])).catch(() => {}));
  await waitFor(async () => {
    const c = startMailChurn({ smtp: { port, recipient: 'churnsink@localhost', loops: 1 } });
    await sleep(300);
    return (await c.stop()).ok > 0;
  }, { timeout: 30_000 });
  const options = { smtp: { port, recipient: 'churnsink@localhost', loops: LOOPS } };
  const baseline = await measure(options);
  const restarts = await measure(options, () => daemon('postfix', ['reload']));
  // Delivery to the Maildir is asynchronous: wait until the queue is empty.
  await waitFor(async () => /Mail queue is empty/.test((await run('postqueue', ['-p'])).stdout), { timeout: 60_000, interval: 200 });
  // The readiness probe's messages are there too: count the measured ones by their Subject.
  const accepted = new Set([...baseline.accepted, ...restarts.accepted]);
  const stored = readdirSync(join(maildir, 'new')).filter((f) => {
    const subject = /^Subject: (.*)$/m.exec(readFileSync(join(maildir, 'new', f), 'utf8'))?.[1]?.trim();
    return subject !== undefined && accepted.has(subject);
  }).length;
  rmSync(maildir, { recursive: true, force: true });
  return { baseline, restarts, lost: accepted.size - stored };
}

const f = (n) => n.toFixed(1);
function row(name, r) {
  return `| ${name} | ${r.restarts.sessions} | ${r.restarts.cut}${r.restarts.failures.length ? ` (${r.restarts.failures.join('; ')})` : ''} | ${f(r.baseline.perSecond)} | ${f(r.restarts.perSecond)} | ${(r.restarts.perSecond / r.baseline.perSecond).toFixed(2)} | ${r.lost ?? '-'} | ${r.restarts.restartMs.map((x) => Math.round(x)).join(', ')} |`;
}

try {
  console.error(`mail restart bench: ${LOOPS} POP3 and ${LOOPS} SMTP loops of full sessions, ${SECONDS} s per run, ${RESTARTS} restarts`);
  console.log('| peer | sessions during restarts | sessions cut | sessions/s without | sessions/s with restarts | ratio | accepted messages not stored | restart command ms |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  const peers = [
    ['hearth pop3+smtp (hearth restart)', hearth],
    ['dovecot pop3 (doveadm reload)', dovecot],
    ['postfix smtp (postfix reload)', postfix],
  ];
  for (const [name, measurePeer] of peers) {
    const r = await measurePeer().catch((err) => ({ error: err.message }));
    console.log(r.error ? `| ${name} | error: ${r.error} |` : row(name, r));
  }
} finally {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch {
      // best effort
    }
  }
}
