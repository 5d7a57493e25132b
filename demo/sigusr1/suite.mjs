/**
 * Small helpers for the SIGUSR1 demo and its test: run `hearth up` on a config, read what it logs,
 * ask its status, play an external mail delivery agent (store a message, send a comsat datagram),
 * hold a POP3 push session, and look for Node's inspector port. Loopback only; everything started
 * here is stopped by `stop()`.
 *
 * `hearth up` is spawned detached: it leads a process group of its own. In the legacy arrangement
 * its children share that group, so a `kill(0, SIGUSR1)` among them reaches the supervisor and its
 * children, never the program that runs the demo (or the test runner).
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const HEARTH = join(ROOT, 'packages/cli/dist/main.js');
export const BIFF_MODULE = join(ROOT, 'services/biff/dist/index.js');
export const WATCHER_MODULE = join(ROOT, 'services/biff/dist/watcher.js');
export const FIXTURE_MODULE = join(ROOT, 'packages/testkit/dist/fixtures/fixture-service.js');
export const LEGACY_NOTIFIER = fileURLToPath(new URL('./legacy-notifier.mjs', import.meta.url));
/** Node's default inspector port (127.0.0.1:9229), which a stray SIGUSR1 opens. */
export const INSPECTOR_PORT = 9229;

const { controlRequest } = await import(join(ROOT, 'packages/supervisor/dist/index.js'));

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll `check` until it returns something truthy; undefined after `timeout` ms. */
export async function poll(check, timeout = 5000, interval = 25) {
  const end = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() >= end) return undefined;
    await sleep(interval);
  }
}

/** A free port on 127.0.0.1 (bind 0, read, close). */
export async function freePort(type = 'tcp') {
  if (type === 'udp') {
    const s = dgram.createSocket('udp4');
    await new Promise((resolve) => s.bind(0, '127.0.0.1', resolve));
    const { port } = s.address();
    s.close();
    return port;
  }
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Runs `hearth up` on `yaml` in a fresh temp dir. `prepare(dataDir)` runs before it starts (to
 * create users). Resolves once every service has settled (running, or given up on).
 *
 * @param {string} yaml
 * @param {{ prepare?: (dataDir: string) => unknown, names?: string[], timeout?: number }} [options]
 */
export async function startSuite(yaml, { prepare, names = [], timeout = 20_000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-demo-'));
  const data = join(dir, 'data');
  const configFile = join(dir, 'hearth.yaml');
  writeFileSync(configFile, yaml);
  if (prepare) await prepare(data);
  const proc = spawn(process.execPath, [HEARTH, 'up', '--config', configFile, '--data', data], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [];
  let stderr = '';
  let buf = '';
  proc.stdout.setEncoding('utf8').on('data', (d) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ msg: line });
      }
    }
  });
  proc.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })));
  const socket = join(data, 'hearth.sock');
  let stopped = false;

  const suite = {
    dir,
    data,
    pid: /** @type {number} */ (proc.pid), // process.execPath: it starts
    lines,
    stderr: () => stderr,
    exited,
    status: () => controlRequest(socket, { verb: 'status' }, { timeoutMs: 5000 }),
    async service(name) {
      return (await suite.status()).find((s) => s.name === name);
    },
    /** Log lines of service `svc` (what the supervisor captured from it). */
    logsOf: (svc) => lines.filter((l) => l.svc === svc),
    /** First log line of `svc` whose msg matches `re`, waiting up to `wait` ms (throws after). */
    async waitLog(svc, re, wait = 5000) {
      const line = await poll(() => lines.find((l) => l.svc === svc && re.test(String(l.msg ?? ''))), wait);
      if (!line) throw new Error(`no log line of ${svc} matching ${re} within ${wait} ms`);
      return line;
    },
    /** SIGTERM, wait, then SIGKILL what is left of the group; remove the temp dir. Idempotent. */
    async stop() {
      if (stopped) return;
      stopped = true;
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const done = await Promise.race([exited, sleep(15_000).then(() => undefined)]);
      try {
        process.kill(-proc.pid, 'SIGKILL'); // our own child's group: whatever is left of it
      } catch {
        // gone already
      }
      if (!done) await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };

  const settled = await poll(
    async () => {
      if (proc.exitCode !== null) return 'exited';
      try {
        const rows = await suite.status();
        const wanted = names.length > 0 ? rows.filter((r) => names.includes(r.name)) : rows;
        return wanted.length > 0 && wanted.every((r) => r.state !== 'starting' && r.state !== 'stopped') ? 'ok' : undefined;
      } catch {
        return undefined;
      }
    },
    timeout,
    50,
  );
  if (settled !== 'ok') {
    await suite.stop();
    throw new Error(`hearth up did not start: ${settled ?? 'timeout'}\n${stderr}${lines.map((l) => JSON.stringify(l)).join('\n')}`);
  }
  return suite;
}

/** Whether `pid` is a live process (not a zombie). */
export function alive(pid) {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Inodes of sockets listening on `port` (IPv4 and IPv6), from /proc/net. */
function listeningInodes(port) {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const row of text.split('\n').slice(1)) {
      const f = row.trim().split(/\s+/);
      if (f.length > 9 && f[1].endsWith(hex) && f[3] === '0A') inodes.add(f[9]);
    }
  }
  return inodes;
}

/** Whether anything on this host listens on `port`. */
export function portListening(port = INSPECTOR_PORT) {
  return listeningInodes(port).size > 0;
}

/** Which of `pids` hold a socket listening on `port` (Node's inspector: 9229). */
export function pidsListeningOn(pids, port = INSPECTOR_PORT) {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return [];
  return pids.filter((pid) => {
    try {
      return readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
          return m !== null && inodes.has(m[1]);
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  });
}

/** Lines in which Node reports starting (or failing to start) its inspector. */
export const INSPECTOR_LINE = /Debugger listening on|Starting inspector on .* failed/;

/** Send one datagram to 127.0.0.1:`port`. */
export function sendDatagram(port, data) {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    socket.send(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, port, '127.0.0.1', (err) => {
      socket.close();
      if (err) reject(err);
      else resolve();
    });
  });
}

/** The mail store of a data dir, opened as an external delivery agent would. */
export async function openStore(dataDir) {
  const { openMailStore } = await import(join(ROOT, 'packages/mail-store/dist/index.js'));
  return openMailStore({ dir: join(dataDir, 'mail') });
}

/** The accounts of a data dir (cheap scrypt parameters: the demo checks behaviour, not cost). */
export async function openAccounts(dataDir) {
  const { openSuiteAccounts } = await import(join(ROOT, 'packages/accounts/dist/index.js'));
  return openSuiteAccounts(dataDir, { passwordParams: { ln: 10, r: 8, p: 1 } });
}

/** Adds users (password NAME-pw, PASSWORD for all when given) with their maildrops to a data dir. */
export async function addUsers(dataDir, names, password) {
  const store = await openStore(dataDir);
  const accounts = await openAccounts(dataDir);
  try {
    for (const name of names) {
      store.addMaildrop(name);
      await accounts.add(name, password ?? `${name}-pw`);
    }
  } finally {
    await accounts.close();
    await store.close();
  }
}

/**
 * An external MDA's delivery: store one message for `user`, then tell comsat on `comsatPort` the
 * way Postfix local(8) does (`user@offset` and a NUL). Resolves with the stored message.
 */
export async function deliverAndNotify(dataDir, user, comsatPort, subject = 'hello') {
  const store = await openStore(dataDir);
  try {
    const before = store.listMessages(user).reduce((n, m) => n + m.size, 0);
    const [message] = await store.deliver({ recipients: [user], body: `From: demo@localhost\r\nSubject: ${subject}\r\n\r\nNew mail.\r\n` });
    const notifiedAt = Date.now();
    await sendDatagram(comsatPort, `${user}@${before}\0`);
    return { message, notifiedAt };
  } finally {
    await store.close();
  }
}

/**
 * A POP3 session that logs in and waits with XIDLE (Hearth's push extension). `pushes` returns the
 * `* NEW` lines it was sent; `arrivals` when each came (performance.now() of its 'data' event).
 * Lines are split as they come, so thousands of these sessions cost one benchmark client little.
 */
export async function pop3Waiting(port, user, password) {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  let text = '';
  let waiting = false;
  const lines = [];
  const arrivals = [];
  let waiter; // { count, resolve }: waitCount's, woken by the data handler (no polling)
  let onPush; // (at) => void: called for every push line (a benchmark's counter over many sessions)
  const take = (at) => {
    for (let end = text.indexOf('\r\n'); end !== -1; end = text.indexOf('\r\n')) {
      const line = text.slice(0, end);
      text = text.slice(end + 2);
      if (line.startsWith('* NEW ')) {
        lines.push(line);
        arrivals.push(at);
        onPush?.(at);
      }
    }
    if (waiter !== undefined && lines.length >= waiter.count) waiter.resolve(true);
  };
  socket.on('data', (d) => {
    text += d;
    if (waiting) take(performance.now());
  });
  socket.on('error', () => {});
  const expect = async (re, what) => {
    const ok = await poll(() => re.test(text), 5000, 5);
    if (!ok) throw new Error(`POP3: no ${what} (received ${JSON.stringify(text)})`);
    text = text.replace(re, '');
  };
  await expect(/^\+OK.*\r\n/, 'greeting');
  socket.write(`USER ${user}\r\n`);
  await expect(/^\+OK.*\r\n/, 'USER reply');
  socket.write(`PASS ${password}\r\n`);
  await expect(/^\+OK.*\r\n/, 'PASS reply');
  socket.write('XIDLE\r\n');
  await expect(/^\+OK.*\r\n/, 'XIDLE reply');
  waiting = true;
  take(performance.now());
  /** Resolves true once `count` push lines came, false after `wait` ms (one waiter at a time). */
  const waitCount = (count, wait = 5000) =>
    lines.length >= count
      ? Promise.resolve(true)
      : new Promise((resolve) => {
          const timer = setTimeout(() => done(false), Math.max(0, wait));
          const done = (ok) => {
            clearTimeout(timer);
            waiter = undefined;
            resolve(ok);
          };
          waiter = { count, resolve: done };
        });
  return {
    /** The `* NEW n uidl size` lines received while waiting. */
    pushes: () => lines,
    /** performance.now() when each of those lines arrived. */
    arrivals: () => arrivals,
    /** The first push line, once it came (undefined after `wait` ms). */
    waitPush: async (wait = 5000) => ((await waitCount(1, wait)) ? lines[0] : undefined),
    /** Calls `fn(at)` for each push line from now on (undefined: stop). */
    onPush: (fn) => (onPush = fn),
    waitCount,
    close: () => socket.destroy(),
  };
}
