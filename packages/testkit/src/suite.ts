/**
 * The whole suite under `hearth up`, as the system tests and the SIGUSR1 demo run it (export
 * `./suite`): run it on a config, read what it logs, ask its status, play an external mail
 * delivery agent (store a message, send a comsat datagram), hold a POP3 push session, and look for
 * Node's inspector port. Loopback only; everything started here is stopped by `stop()`.
 *
 * `hearth up` is spawned detached: it leads a process group of its own. In the legacy arrangement
 * its children share that group, so a `kill(0, SIGUSR1)` among them reaches the supervisor and its
 * children, never the program that runs the demo (or the test runner). It is started by
 * `spawnGuarded`: if that program ends before `stop()`, however it ends, the group is stopped too.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { openSuiteAccounts, type Accounts } from '@hearth/accounts';
import { openMailStore, type Delivery, type MailStore } from '@hearth/mail-store';
import { controlRequest, type ServiceStatus } from '@hearth/supervisor';
import { spawnGuarded } from './guarded.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const HEARTH = join(ROOT, 'packages/cli/dist/main.js');
export const BIFF_MODULE = join(ROOT, 'services/biff/dist/index.js');
export const WATCHER_MODULE = join(ROOT, 'services/biff/dist/watcher.js');
export const FIXTURE_MODULE = fileURLToPath(new URL('./fixtures/fixture-service.js', import.meta.url));
/** Node's default inspector port (127.0.0.1:9229), which a stray SIGUSR1 opens. */
export const INSPECTOR_PORT = 9229;
/** Lines in which Node reports starting (or failing to start) its inspector. */
export const INSPECTOR_LINE = /Debugger listening on|Starting inspector on .* failed/;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll `check` until it returns something truthy; undefined after `timeout` ms. */
export async function poll<T>(check: () => T | Promise<T>, timeout = 5000, interval = 25): Promise<T | undefined> {
  const end = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() >= end) return undefined;
    await sleep(interval);
  }
}

/** A log line of `hearth up` (JSON, or `{ msg }` for a line that was not). */
export type LogLine = Record<string, unknown>;

export interface SuiteOptions {
  /** Runs before `hearth up` starts (to create users). */
  readonly prepare?: (dataDir: string) => unknown;
  /** Services to wait for (default: all). */
  readonly names?: readonly string[];
  /** ms; default 20 s. */
  readonly timeout?: number;
}

export interface Suite {
  readonly dir: string;
  readonly data: string;
  readonly pid: number;
  readonly lines: LogLine[];
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  status(): Promise<ServiceStatus[]>;
  service(name: string): Promise<ServiceStatus | undefined>;
  /** Log lines of service `svc` (what the supervisor captured from it). */
  logsOf(svc: string): LogLine[];
  /** First log line of `svc` whose msg matches `re`, waiting up to `wait` ms (throws after). */
  waitLog(svc: string, re: RegExp, wait?: number): Promise<LogLine>;
  /** SIGTERM, wait, then SIGKILL what is left of the group; remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Runs `hearth up` on `yaml` in a fresh temp dir. Resolves once every service (or each of
 * `names`) has settled (running, or given up on).
 */
export async function startSuite(yaml: string, { prepare, names = [], timeout = 20_000 }: SuiteOptions = {}): Promise<Suite> {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-demo-'));
  const data = join(dir, 'data');
  const configFile = join(dir, 'hearth.yaml');
  writeFileSync(configFile, yaml);
  if (prepare) await prepare(data);
  const guarded = spawnGuarded(process.execPath, [HEARTH, 'up', '--config', configFile, '--data', data], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Its stdout and stderr are pipes, as asked.
  const proc = guarded.child as ChildProcessWithoutNullStreams;
  const lines: LogLine[] = [];
  let stderr = '';
  let buf = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        lines.push({ msg: line });
      }
    }
  });
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('close', (code, signal) => resolve({ code, signal })),
  );
  const socket = join(data, 'hearth.sock');
  let stopped = false;

  const suite: Suite = {
    dir,
    data,
    pid: proc.pid!, // process.execPath: it starts
    lines,
    stderr: () => stderr,
    exited,
    status: () => controlRequest(socket, { verb: 'status' }, { timeoutMs: 5000 }) as Promise<ServiceStatus[]>,
    async service(name) {
      return (await suite.status()).find((s) => s.name === name);
    },
    logsOf: (svc) => lines.filter((l) => l['svc'] === svc),
    async waitLog(svc, re, wait = 5000) {
      const line = await poll(() => lines.find((l) => l['svc'] === svc && re.test(String(l['msg'] ?? ''))), wait);
      if (!line) throw new Error(`no log line of ${svc} matching ${re} within ${wait} ms`);
      return line;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const done = await Promise.race([exited, sleep(15_000).then(() => undefined)]);
      try {
        process.kill(-proc.pid!, 'SIGKILL'); // our own child's group: whatever is left of it
      } catch {
        // gone already
      }
      if (!done) await exited;
      await guarded.release();
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

/** Inodes of sockets listening on `port` (IPv4 and IPv6), from /proc/net. */
function listeningInodes(port: number): Set<string> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const row of text.split('\n').slice(1)) {
      const f = row.trim().split(/\s+/);
      if (f.length > 9 && f[1]!.endsWith(hex) && f[3] === '0A') inodes.add(f[9]!);
    }
  }
  return inodes;
}

/** Whether anything on this host listens on `port`. */
export function portListening(port = INSPECTOR_PORT): boolean {
  return listeningInodes(port).size > 0;
}

/** Which of `pids` hold a socket listening on `port` (Node's inspector: 9229). */
export function pidsListeningOn(pids: readonly number[], port = INSPECTOR_PORT): number[] {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return [];
  return pids.filter((pid) => {
    try {
      return readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
          return m !== null && inodes.has(m[1]!);
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  });
}

/** Send one datagram to 127.0.0.1:`port` (a string is sent as latin1). */
export function sendDatagram(port: number, data: string | Buffer): Promise<void> {
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
export function openStore(dataDir: string): Promise<MailStore> {
  return openMailStore({ dir: join(dataDir, 'mail') });
}

/** The accounts of a data dir (cheap scrypt parameters: the harness checks behaviour, not cost). */
export function openAccounts(dataDir: string): Promise<Accounts> {
  return openSuiteAccounts(dataDir, { passwordParams: { ln: 10, r: 8, p: 1 } });
}

/** Adds users with their maildrops to a data dir (password: `password`, or NAME-pw). */
export async function addUsers(dataDir: string, names: readonly string[], password?: string): Promise<void> {
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
export async function deliverAndNotify(
  dataDir: string,
  user: string,
  comsatPort: number,
  subject = 'hello',
): Promise<{ message: Delivery; notifiedAt: number }> {
  const store = await openStore(dataDir);
  try {
    const before = store.listMessages(user).reduce((n, m) => n + m.size, 0);
    const [message] = await store.deliver({ recipients: [user], body: `From: demo@localhost\r\nSubject: ${subject}\r\n\r\nNew mail.\r\n` });
    const notifiedAt = Date.now();
    await sendDatagram(comsatPort, `${user}@${before}\0`);
    return { message: message!, notifiedAt };
  } finally {
    await store.close();
  }
}

export interface Pop3Waiting {
  /** The `* NEW n uidl size` lines received while waiting. */
  pushes(): string[];
  /** performance.now() when each of those lines arrived. */
  arrivals(): number[];
  /** The first push line, once it came (undefined after `wait` ms). */
  waitPush(wait?: number): Promise<string | undefined>;
  /** Calls `fn(at)` for each push line from now on (undefined: stop). */
  onPush(fn: ((at: number) => void) | undefined): void;
  /** Resolves true once `count` push lines came, false after `wait` ms (one waiter at a time). */
  waitCount(count: number, wait?: number): Promise<boolean>;
  close(): void;
}

/**
 * A POP3 session that logs in and waits with XIDLE (Hearth's push extension). Lines are split as
 * they come, so thousands of these sessions cost one benchmark client little.
 */
export async function pop3Waiting(port: number, user: string, password: string): Promise<Pop3Waiting> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  let text = '';
  let waiting = false;
  const lines: string[] = [];
  const arrivals: number[] = [];
  let waiter: { count: number; resolve: (ok: boolean) => void } | undefined; // woken by the data handler
  let onPush: ((at: number) => void) | undefined;
  let wake: (() => void) | undefined; // the login's expect, woken by the data handler
  const take = (at: number): void => {
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
  socket.on('data', (d: string) => {
    text += d;
    if (waiting) take(performance.now());
    else wake?.();
  });
  socket.on('error', () => {});
  const expect = async (re: RegExp, what: string): Promise<void> => {
    const deadline = Date.now() + 5000;
    while (!re.test(text)) {
      const left = deadline - Date.now();
      if (left <= 0 || socket.destroyed) throw new Error(`POP3: no ${what} (received ${JSON.stringify(text)})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
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
  const waitCount = (count: number, wait = 5000): Promise<boolean> =>
    lines.length >= count
      ? Promise.resolve(true)
      : new Promise((resolve) => {
          const timer = setTimeout(() => done(false), Math.max(0, wait));
          const done = (ok: boolean): void => {
            clearTimeout(timer);
            waiter = undefined;
            resolve(ok);
          };
          waiter = { count, resolve: done };
        });
  return {
    pushes: () => lines,
    arrivals: () => arrivals,
    waitPush: async (wait = 5000) => ((await waitCount(1, wait)) ? lines[0] : undefined),
    onPush: (fn) => (onPush = fn),
    waitCount,
    close: () => socket.destroy(),
  };
}

export { alive } from './hearth-up.js';
