import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FIXTURE_SERVICE_PATH,
  LAUNCH_PATH,
  connectAndReadLine,
  freePort,
  makeTempDir,
  runProgram,
  runProgramOk,
  runTranscript,
  udpRequest,
  waitFor,
} from '@hearth/testkit';
import {
  boundAddress,
  closeBoundHandle,
  createBoundTcpHandle,
  createBoundUdpHandle,
  sendWithHandle,
  type BoundHandle,
  type ListenerSpec,
  type ServiceMessage,
} from '@hearth/runtime';

const suite = { dataDir: '/nonexistent', mail: { domains: ['localhost'] }, tls: {} };
const children = new Set<ChildProcess>();
const handles: BoundHandle[] = [];
const servers: net.Server[] = [];
afterEach(async () => {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
  for (const s of servers.splice(0)) s.close();
  await Promise.all(handles.splice(0).map(closeBoundHandle));
});

/** Start the fixture under a minimal supervisor: init, listeners (tcp main, udp echo), start. */
async function startFixture(settings: Record<string, unknown>) {
  const child = fork(LAUNCH_PATH, [FIXTURE_SERVICE_PATH], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  children.add(child);
  const messages: ServiceMessage[] = [];
  child.on('message', (m: ServiceMessage) => messages.push(m));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const tcp = createBoundTcpHandle('127.0.0.1', 0);
  const udp = createBoundUdpHandle('127.0.0.1', 0);
  handles.push(tcp, udp);
  const listeners: ListenerSpec[] = [
    { name: 'main', protocol: 'tcp', address: '127.0.0.1', port: boundAddress(tcp).port, tls: false },
    { name: 'echo', protocol: 'udp', address: '127.0.0.1', port: boundAddress(udp).port, tls: false },
  ];
  child.send({ t: 'init', service: 'fx', kind: 'fixture', settings, suite, logLevel: 'warn', listeners });
  await sendWithHandle(child, { t: 'listener', name: 'main', index: 0 }, tcp);
  await sendWithHandle(child, { t: 'listener', name: 'echo', index: 0 }, udp);
  child.send({ t: 'start' });
  return { child, messages, exit, tcpPort: listeners[0]!.port, udpPort: listeners[1]!.port };
}

describe('fixture service', () => {
  it('is built where the supervisor tests expect it', () => {
    expect(existsSync(FIXTURE_SERVICE_PATH)).toBe(true);
    expect(existsSync(LAUNCH_PATH)).toBe(true);
  });

  it('answers TCP with one line and echoes UDP; stops with 0', async () => {
    const fx = await startFixture({ greeting: 'hi' });
    await waitFor(() => fx.messages.some((m) => m.t === 'ready'), { what: 'ready' });
    expect(await connectAndReadLine(fx.tcpPort)).toBe(`hi ${fx.child.pid}`);
    expect(String(await udpRequest(fx.udpPort, 'ping'))).toBe(`hi ${fx.child.pid} ping`);
    fx.child.send({ t: 'stop', deadlineMs: 1000 });
    expect(await fx.exit).toBe(0);
  });

  it('reports ready only after readyDelay', async () => {
    const t0 = Date.now();
    const fx = await startFixture({ readyDelay: '300ms' });
    await waitFor(() => fx.messages.some((m) => m.t === 'ready'), { what: 'ready' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
  });

  it('crashes with exitCode after crashAfter', async () => {
    const fx = await startFixture({ crashAfter: 50, exitCode: 3 });
    expect(await fx.exit).toBe(3);
  });

  it('failStart and configError fail as the runtime defines (1 and 78)', async () => {
    const a = await startFixture({ failStart: true });
    const b = await startFixture({ configError: true });
    expect(await a.exit).toBe(1);
    expect(await b.exit).toBe(78);
    expect(b.messages).toContainEqual({ t: 'failed', error: 'fixture: configError is set', permanent: true });
  });

  it('drains a session held open by replyDelay before exiting', async () => {
    const fx = await startFixture({ replyDelay: 300 });
    await waitFor(() => fx.messages.some((m) => m.t === 'ready'), { what: 'ready' });
    const line = connectAndReadLine(fx.tcpPort);
    await new Promise((r) => setTimeout(r, 50));
    fx.child.send({ t: 'stop', deadlineMs: 5000 });
    expect(await line).toBe(`hello ${fx.child.pid}`);
    expect(await fx.exit).toBe(0);
  });

  it('with ignoreStop keeps running past a stop request (until its deadline runs out)', async () => {
    const fx = await startFixture({ ignoreStop: true });
    await waitFor(() => fx.messages.some((m) => m.t === 'ready'), { what: 'ready' });
    fx.child.send({ t: 'stop', deadlineMs: 100 });
    await new Promise((r) => setTimeout(r, 600)); // the behaviour under test: still running well past its 100 ms deadline
    expect(fx.child.exitCode).toBeNull();
  });
});

describe('helpers', () => {
  it('makeTempDir creates and removes a directory', async () => {
    const dir = await makeTempDir();
    expect(existsSync(dir.path)).toBe(true);
    await dir.remove();
    expect(existsSync(dir.path)).toBe(false);
  });

  it('waitFor returns the value, or names what it waited for', async () => {
    let n = 0;
    expect(await waitFor(() => (++n >= 3 ? n : 0))).toBe(3);
    await expect(waitFor(() => false, { timeout: 50, what: 'godot' })).rejects.toThrow(/waiting for godot/);
  });

  it('freePort gives a bindable port', async () => {
    const port = await freePort();
    const s = net.createServer();
    servers.push(s);
    await new Promise<void>((resolve) => s.listen(port, '127.0.0.1', resolve));
    expect((s.address() as net.AddressInfo).port).toBe(port);
  });

  it('runTranscript plays a line protocol and reports a mismatch clearly', async () => {
    const server = net.createServer((s) => {
      s.write('+OK ready\r\n');
      let buf = '';
      s.on('data', (d) => {
        buf += d.toString();
        let nl;
        while ((nl = buf.indexOf('\r\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 2);
          if (line === 'LIST') s.write('+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n');
          else if (line === 'QUIT') s.end('+OK bye\r\n');
          else s.write('-ERR unknown\r\n');
        }
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;

    const socket = net.connect(port, '127.0.0.1');
    const got = await runTranscript(socket, [
      [null, /^\+OK ready/],
      ['LIST', /^\.\r$/m],
      ['QUIT', /^\+OK bye/],
    ]);
    expect(got[1]).toBe('+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n');
    socket.destroy();

    const again = net.connect(port, '127.0.0.1');
    await expect(
      runTranscript(again, [[null, /^\+OK/], ['NOOP', /^\+OK/]], { timeout: 200 }),
    ).rejects.toThrow(/transcript step 2: no match within 200 ms; sent "NOOP", expected \/\^\\\+OK\/, received "-ERR unknown\\r\\n"/);
    again.destroy();
  });
});

describe('runProgram', () => {
  it('gives a program its input and collects its output and exit code', async () => {
    const r = await runProgram('sh', ['-c', 'tr a-z A-Z; echo oops >&2; exit 3'], { input: 'hello\n' });
    expect(r).toEqual({ code: 3, stdout: 'HELLO\n', stderr: 'oops\n' });
    await expect(runProgramOk('sh', ['-c', 'echo out; echo err >&2; exit 3'])).rejects.toThrow('sh -c echo out; echo err >&2; exit 3: exit code 3\nout\n\nerr');
    expect(await runProgramOk('sh', ['-c', 'cat'], { input: Buffer.from('bytes') })).toBe('bytes');
  });

  it('survives a program that exits without reading its input, one killed at its deadline, and one that cannot start', async () => {
    // 8 MiB: more than a pipe holds, so the write is still going on when the program exits.
    const unread = await runProgram('sh', ['-c', 'exit 0'], { input: 'x'.repeat(8 << 20) });
    expect(unread).toEqual({ code: 0, stdout: '', stderr: '' });
    const killed = await runProgram('sleep', ['10'], { timeoutMs: 100 });
    expect(killed.code).toBeNull();
    expect(killed.stderr).toContain('(killed after 100 ms)');
    const missing = await runProgram('/nonexistent/program', []);
    expect(missing.code).toBeNull();
    expect(missing.stderr).toContain('ENOENT');
  });

  it('kills at its deadline the processes the program started too, which hold its output open', async () => {
    const r = await runProgram('sh', ['-c', 'sleep 60 & echo $!; wait'], { timeoutMs: 300 });
    expect(r.code).toBeNull();
    expect(r.stderr).toContain('(killed after 300 ms)');
    await gone(Number(r.stdout.trim()));
  });

  it('kills the program and what it started when its signal is aborted, also one aborted before it starts', async () => {
    const dir = await makeTempDir();
    try {
      const pidFile = join(dir.path, 'sleeper.pid');
      const abort = new AbortController();
      const running = runProgram('sh', ['-c', 'sleep 60 & echo $! > "$1"; wait', 'sh', pidFile], { signal: abort.signal, timeoutMs: 60_000 });
      const sleeper = await waitFor(async () => Number((await readFile(pidFile, 'utf8').catch(() => '')).trim()) || null, { timeout: 5000, what: 'the program to start its sleeper' });
      abort.abort();
      const r = await running;
      expect(r.code).toBeNull();
      expect(r.stderr).toContain('(killed as its run was aborted)');
      await gone(sleeper);
      const early = await runProgram('sleep', ['60'], { signal: AbortSignal.abort() });
      expect(early.code).toBeNull();
      expect(early.stderr).toContain('(killed as its run was aborted)');
    } finally {
      await dir.remove();
    }
  });
});

/**
 * A process that starts a group the way `mode` says, whose program writes the group's two pids
 * (`sh` leading it, the `sleep` it started) to `pidFile`; it runs until it is killed.
 * - `program`: `runProgram` with `stopWithThisProcess`;
 * - `released`: `spawnGuarded`, released once the group runs; `pidFile` is written once the
 *   watchdog has been told.
 */
const GUARD_RUNNER = `
import { existsSync, renameSync } from 'node:fs';
const [kit, mode, pidFile] = process.argv.slice(1);
const { spawnGuarded, runProgram } = await import(kit);
const script = 'sleep 300 & echo $$ $! > "$1.tmp" && mv "$1.tmp" "$1"; wait';
if (mode === 'program') {
  void runProgram('sh', ['-c', script, 'sh', pidFile], { stopWithThisProcess: true, timeoutMs: 600_000 });
} else {
  const started = pidFile + '.started';
  const guarded = spawnGuarded('sh', ['-c', script, 'sh', started], { stdio: 'ignore' });
  const running = setInterval(async () => {
    if (!existsSync(started)) return;
    clearInterval(running);
    await guarded.release();
    renameSync(started, pidFile);
  }, 10);
}
setInterval(() => {}, 60_000);
`;

/**
 * Runs `script` (an ES module, with `args`) in a process of its own, which writes two pids to
 * `pidFile` once what it starts runs: the runner and those pids. `env` is added to this process's.
 */
async function startRunner(script: string, args: readonly string[], pidFile: string, what: string, env: Record<string, string> = {}): Promise<{ runner: ChildProcess; pids: number[] }> {
  const runner = spawn(process.execPath, ['--input-type=module', '-e', script, ...args], { stdio: 'ignore', env: { ...process.env, ...env } });
  children.add(runner);
  const pids = await waitFor(
    async () => {
      const read = (await readFile(pidFile, 'utf8').catch(() => '')).trim().split(' ').map(Number);
      return read.length === 2 && read.every((p) => p > 0) ? read : null;
    },
    { timeout: 15_000, what },
  );
  return { runner, pids };
}

/** Kills `runner` with SIGKILL (no teardown of its own runs) and waits until it is reaped. */
async function killRunner(runner: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => runner.once('exit', resolve));
  runner.kill('SIGKILL');
  await exited;
}

describe('spawnGuarded', () => {
  const KIT = new URL('../dist/index.js', import.meta.url).href;

  /** Starts a `GUARD_RUNNER` in `mode` and returns it with the pids of the group it cares for. */
  async function startGuardRunner(mode: 'program' | 'released', dir: string): Promise<{ runner: ChildProcess; group: number[] }> {
    const pidFile = join(dir, `${mode}.pids`);
    const { runner, pids } = await startRunner(GUARD_RUNNER, [KIT, mode, pidFile], pidFile, `the ${mode} runner's group to start`);
    return { runner, group: pids };
  }

  it('stops the group of a program run with stopWithThisProcess when the process that ran it is killed', async () => {
    const dir = await makeTempDir();
    try {
      const { runner, group } = await startGuardRunner('program', dir.path);
      await killRunner(runner);
      for (const pid of group) await gone(pid);
    } finally {
      await dir.remove();
    }
  });

  it('leaves a released group alone', async () => {
    const dir = await makeTempDir();
    let group: number[] = [];
    try {
      const started = await startGuardRunner('released', dir.path);
      group = started.group;
      const watchdog = await lifelineOf(started.runner.pid ?? 0);
      await killRunner(started.runner);
      // A watchdog that knows no group exits at the end of its pipe; one that does would wait
      // 30 s after its SIGTERM.
      await gone(watchdog);
      for (const pid of group) expect(isAlive(pid), `process ${pid} of the released group`).toBe(true);
    } finally {
      try {
        if (group[0] !== undefined) process.kill(-group[0], 'SIGKILL'); // the group this test made
      } catch {
        // gone already
      }
      await dir.remove();
    }
  });
});

/**
 * A process that runs `hearth up` with `startUp` (its temp dir under `$TMPDIR`) on one fixture
 * service, writes the supervisor's pid and the service's to `pidFile` once the service runs, and
 * runs until it is killed.
 */
const UP_RUNNER = `
import { renameSync, writeFileSync } from 'node:fs';
const [hearthUp, fixture, pidFile] = process.argv.slice(1);
const { startUp, waitState } = await import(hearthUp);
const up = await startUp('services:\\n  fix:\\n    module: ' + fixture + '\\n    listen: { main: { port: 0 } }\\n');
const fix = await waitState(up, 'fix', 'running');
writeFileSync(pidFile + '.tmp', up.proc.pid + ' ' + fix.pid);
renameSync(pidFile + '.tmp', pidFile);
setInterval(() => {}, 60_000);
`;

describe('startUp', () => {
  it('stops hearth up, and so its services, when the process that started it is killed', async () => {
    const dir = await makeTempDir();
    let started: number[] = [];
    try {
      const pidFile = join(dir.path, 'up.pids');
      const hearthUp = new URL('../dist/hearth-up.js', import.meta.url).href;
      const { runner, pids } = await startRunner(UP_RUNNER, [hearthUp, FIXTURE_SERVICE_PATH, pidFile], pidFile, "the runner's hearth up and its service to run", { TMPDIR: dir.path });
      started = pids;
      const [supervisor, service] = pids;
      expect(isAlive(supervisor!) && isAlive(service!)).toBe(true);
      await killRunner(runner);
      // The runner's watchdog sends the supervisor SIGTERM: it stops its service and exits (given
      // time for a loaded machine: CI builds the image meanwhile).
      await gone(supervisor!, 15_000);
      await gone(service!, 15_000);
    } finally {
      // Failed, the supervisor still runs: stopped here (its own lifeline then stops its service).
      if (started[0] !== undefined && isAlive(started[0])) process.kill(started[0], 'SIGTERM');
      await dir.remove();
    }
  }, 60_000);
});

/** The pid of the lifeline (`@hearth/process`) that process `parent` started. */
async function lifelineOf(parent: number): Promise<number> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // PID (COMM) STATE PPID ...
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid !== parent) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv[3] === 'hearth-lifeline') return Number(entry);
  }
  throw new Error(`process ${parent} has no lifeline`);
}

/**
 * Whether `pid` runs: a process that died counts as gone also while it waits to be reaped (a
 * zombie, state Z), which whoever inherited it does when it will.
 */
function isAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // PID (COMM) STATE ...: COMM may hold spaces and parentheses.
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/** Waits until `pid` is gone (`isAlive`). */
async function gone(pid: number, timeout = 5000): Promise<void> {
  expect(pid).toBeGreaterThan(0);
  await waitFor(() => !isAlive(pid), { timeout, what: `process ${pid} gone` });
}
