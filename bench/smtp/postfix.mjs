/**
 * The peer: Debian's Postfix ("Local only"), the machine's default instance with an extra smtpd
 * on 127.0.0.1:PORT, delivering to Maildir/ in the home of local bench users. Installs postfix
 * if missing, refuses to touch an instance that is already running, restores main.cf and
 * master.cf, removes its users and stops Postfix at the end.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ETC = '/etc/postfix';

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { encoding: 'utf8', ...options });
  if (result.status !== 0 && !options.allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${result.status}): ${result.stderr || result.stdout}`);
  }
  return result;
}

function ensureInstalled(log) {
  if (existsSync('/usr/sbin/postfix')) return;
  log('installing postfix (apt-get, Local only)');
  run('sh', ['-c', 'echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections']);
  run('sh', ['-c', 'echo "postfix postfix/mailname string localhost" | debconf-set-selections']);
  run('apt-get', ['install', '-y', '-q', 'postfix'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function userExists(name) {
  return spawnSync('id', ['-u', name]).status === 0;
}

/**
 * `users`: local user names to create (removed again at stop). `inFlowDelay`: Postfix's
 * `in_flow_delay` (default 1s, Postfix's own default; `0s` disables the flow control).
 */
export async function startPostfix({ port, users, inFlowDelay = '1s', log = () => undefined }) {
  if (process.getuid?.() !== 0) throw new Error('the Postfix peer needs root (useradd, postfix start)');
  ensureInstalled(log);
  if (run('postfix', ['status'], { allowFail: true }).status === 0) {
    throw new Error('postfix is already running here: stop it first (the bench reconfigures the default instance)');
  }
  const backup = mkdtempSync(join(tmpdir(), 'postfix-bench-'));
  copyFileSync(join(ETC, 'main.cf'), join(backup, 'main.cf'));
  copyFileSync(join(ETC, 'master.cf'), join(backup, 'master.cf'));
  const created = [];
  let started = false;

  const stop = async () => {
    if (started) {
      run('postfix', ['stop'], { allowFail: true });
      started = false;
    }
    run('postsuper', ['-d', 'ALL'], { allowFail: true });
    for (const user of created.splice(0)) run('userdel', ['-r', user], { allowFail: true, stdio: 'ignore' });
    copyFileSync(join(backup, 'main.cf'), join(ETC, 'main.cf'));
    copyFileSync(join(backup, 'master.cf'), join(ETC, 'master.cf'));
    rmSync(backup, { recursive: true, force: true });
  };

  try {
    for (const user of users) {
      if (userExists(user)) continue;
      run('useradd', ['-m', '-s', '/usr/sbin/nologin', user]);
      created.push(user);
    }
    run('postconf', [
      '-e',
      'home_mailbox = Maildir/',
      'mydestination = localhost, localhost.localdomain, $myhostname',
      'mynetworks = 127.0.0.0/8',
      'inet_interfaces = loopback-only',
      'default_process_limit = 200',
      'smtpd_client_connection_count_limit = 1000',
      `in_flow_delay = ${inFlowDelay}`,
      'biff = no',
    ]);
    // Only our loopback listener: the stock smtpd on port 25 is commented out while we run.
    run('postconf', ['-M#', 'smtp/inet'], { allowFail: true });
    run('postconf', ['-M', `127.0.0.1:${port}/inet=127.0.0.1:${port} inet n - y - - smtpd`]);
    if (!existsSync('/etc/aliases.db')) run('newaliases', []);
    run('/usr/lib/postfix/configure-instance.sh', ['-'], { allowFail: true });
    run('postfix', ['start']);
    started = true;
  } catch (error) {
    await stop();
    throw error;
  }

  const maildirs = users.map((user) => join('/home', user, 'Maildir', 'new'));
  const delivered = () => maildirs.reduce((n, dir) => n + (existsSync(dir) ? readdirSync(dir).length : 0), 0);
  const queueEmpty = () => /Mail queue is empty/.test(run('postqueue', ['-p'], { allowFail: true }).stdout);

  return {
    name: 'postfix',
    port,
    /** Messages in the bench users' Maildirs. */
    delivered,
    /** Polls until `expected` messages are delivered and the queue is empty; returns the time. */
    async waitDelivered(expected, timeoutMs) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const count = delivered();
        if (count >= expected && queueEmpty()) return { count, at: performance.now() };
        if (Date.now() > until) return { count, at: performance.now(), timedOut: true };
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    /** Empties the Maildirs between cells. */
    clear() {
      for (const dir of maildirs) {
        if (!existsSync(dir)) continue;
        for (const name of readdirSync(dir)) unlinkSync(join(dir, name));
      }
    },
    version: () => execFileSync('postconf', ['-h', 'mail_version'], { encoding: 'utf8' }).trim(),
    stop,
  };
}
