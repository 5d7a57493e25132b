/**
 * A private Docker engine for the container test: its own `dockerd` with its own data root, exec
 * root, socket and containerd namespace; no bridge and no firewall rules (`--bridge=none
 * --iptables=false`), so containers and builds use host networking. Stopping it unmounts whatever
 * it left mounted and removes its folder.
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram, runProgramOk, spawnGuarded, waitFor, type ProgramOptions, type ProgramResult } from '@hearth/testkit';
import { removeBackgroundCgroup, type BackgroundCgroup } from './background.js';
import { missingPackages } from './exec.js';

/**
 * Where each run's engines live: one folder per process, named by its pid (`PID`), and the
 * preparation's folder and data root (`PID-prepare`, `PID-image`, `prepare.ts`).
 */
export const ENGINES_DIR = join(tmpdir(), 'hearth-container-test');


/** Install the Debian packages that provide the missing commands (command -> package). */
export async function ensureCommands(wanted: Readonly<Record<string, string>>, log: (line: string) => void): Promise<void> {
  const packages = missingPackages(wanted);
  if (packages.length === 0) return;
  log(`apt-get install ${packages.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await runProgramOk('apt-get', ['update', '-qq'], { env, timeoutMs: 300_000 });
  await runProgramOk('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { env, timeoutMs: 600_000 });
}

export interface Engine {
  /** This run's folder: socket, pidfile, log, exec root and (unless given) the data root. */
  readonly dir: string;
  readonly dataRoot: string;
  readonly pid: number;
  /** The environment for docker and Compose commands aimed at this engine. */
  readonly env: NodeJS.ProcessEnv;
  docker(args: readonly string[], options?: ProgramOptions): Promise<ProgramResult>;
  /**
   * Stop dockerd (SIGTERM, SIGKILL after 30 s), unmount what is left, remove the folder (and the
   * data root given with `removeDataRoot`).
   */
  stop(): Promise<void>;
}

/** Mount points under `dir` (from /proc/self/mountinfo). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Unmount everything under `dir`, deepest first: `dir` itself too unless `keepDir` (a data root kept on a file system of its own). */
async function unmountAll(dir: string, keepDir = false): Promise<void> {
  const mounts = (await mountsUnder(dir)).filter((p) => !keepDir || p !== dir).sort((a, b) => b.length - a.length);
  for (const m of mounts) await runProgram('umount', ['-l', m]);
}

async function readPid(file: string): Promise<number | null> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const pid = Number.parseInt(text, 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/**
 * Engines of earlier runs whose process is gone (killed before its cleanup ran): stop their
 * dockerd, unmount, remove, with the background cgroup of that process. A folder `PID` or
 * `PID-WHAT` (the preparation's folder and the data root it hands on, `prepare.ts`) belongs to
 * process PID. Returns the folders removed.
 */
export async function reapStaleEngines(): Promise<string[]> {
  const names = await readdir(ENGINES_DIR).catch(() => [] as string[]);
  const reaped: string[] = [];
  for (const name of names) {
    const owner = Number.parseInt(name, 10);
    if (!Number.isInteger(owner) || owner === process.pid || alive(owner)) continue;
    const dir = join(ENGINES_DIR, name);
    const pid = await readPid(join(dir, 'dockerd.pid'));
    if (pid !== null && alive(pid)) {
      process.kill(pid, 'SIGTERM');
      await waitFor(() => !alive(pid), { timeout: 30_000, interval: 100, what: `stale dockerd ${pid} to exit` }).catch(() => {
        process.kill(pid, 'SIGKILL');
      });
    }
    await unmountAll(dir);
    await rm(dir, { recursive: true, force: true });
    await removeBackgroundCgroup(owner);
    reaped.push(dir);
  }
  return reaped;
}

export interface EngineOptions {
  /** A data root kept between runs (images survive); default: inside the run's folder. */
  readonly dataRoot?: string;
  /** Whether `stop` removes the given data root too (one handed on from another engine). */
  readonly removeDataRoot?: boolean;
  /**
   * Run dockerd under `nice -n 19` and its containers in this cgroup of the lowest CPU weight
   * (`background.ts`): an engine whose build runs beside the suite's tests.
   */
  readonly background?: BackgroundCgroup;
}

/** Unmount what is mounted at or under `dir` and remove it: a data root no engine runs on. */
export async function removeDataRoot(dir: string): Promise<void> {
  await unmountAll(dir);
  await rm(dir, { recursive: true, force: true });
}

/** Start a private dockerd and wait until it answers. */
export async function startEngine(options: EngineOptions = {}): Promise<Engine> {
  const dir = join(ENGINES_DIR, String(process.pid));
  await rm(dir, { recursive: true, force: true });
  const dataRoot = options.dataRoot ?? join(dir, 'data');
  await mkdir(join(dir, 'exec'), { recursive: true });
  await mkdir(dataRoot, { recursive: true });
  const sock = join(dir, 'docker.sock');
  const args = [
    '--data-root', dataRoot,
    '--exec-root', join(dir, 'exec'),
    '--pidfile', join(dir, 'dockerd.pid'),
    '--host', `unix://${sock}`,
    // No docker0 bridge and no iptables/NAT rules on the host: host networking only.
    '--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-masq=false',
    // Apart from any system engine's containers, should it share a system containerd.
    '--containerd-namespace', 'hearth-test', '--containerd-plugins-namespace', 'hearth-test-plugins',
    ...(options.background === undefined ? [] : ['--exec-opt', 'native.cgroupdriver=cgroupfs', '--cgroup-parent', options.background.parent]),
  ];
  const logFile = join(dir, 'dockerd.log');
  const fd = openSync(logFile, 'a');
  // `nice` execs dockerd: the pid is dockerd's; containerd, the shims and the containers inherit it.
  // In a session of its own, stopped if this process ends before `stop` (`spawnGuarded`): a run
  // killed before its teardown leaves no engine running (the next run removes its folders).
  const [program, programArgs] = options.background === undefined ? ['dockerd', args] : ['nice', ['-n', '19', 'dockerd', ...args]];
  const guard = spawnGuarded(program, programArgs, { stdio: ['ignore', fd, fd] });
  const child: ChildProcess = guard.child;
  closeSync(fd);
  let exited: string | null = null;
  child.on('exit', (code, signal) => {
    exited = `dockerd exited (code ${code}, signal ${signal})`;
  });
  child.on('error', (err) => {
    exited = `dockerd did not start: ${err.message}`;
  });
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_BUILDKIT: '0', COMPOSE_DOCKER_CLI_BUILD: '0' };
  const docker = (a: readonly string[], o: ProgramOptions = {}) => runProgram('docker', a, { ...o, env: { ...env, ...o.env } });
  const tail = async () => (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
  try {
    // Done when it answers, or when it has exited (which no poll would change).
    await waitFor(async () => exited !== null || (await docker(['version', '--format', '{{.Server.Version}}'])).code === 0, {
      timeout: 60_000,
      interval: 100,
      what: 'dockerd to answer on its socket',
    });
    if (exited !== null) throw new Error(exited);
  } catch (err) {
    if (exited === null) child.kill('SIGKILL');
    void guard.release();
    throw new Error(`${(err as Error).message}\n--- dockerd log ---\n${await tail()}`);
  }
  const pid = child.pid ?? 0;
  let stopped: Promise<void> | null = null;
  const stop = async () => {
    if (alive(pid)) {
      const gone = new Promise<void>((resolve) => (exited !== null ? resolve() : child.once('exit', () => resolve())));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await gone;
      clearTimeout(timer);
    }
    await guard.release();
    // containerd shims outlive a killed dockerd; they hold the mounts of running containers.
    await unmountAll(dir);
    await rm(dir, { recursive: true, force: true });
    if (options.dataRoot !== undefined) {
      if (options.removeDataRoot === true) await removeDataRoot(options.dataRoot);
      else await unmountAll(options.dataRoot, true);
    }
  };
  return {
    dir,
    dataRoot,
    pid,
    env,
    docker,
    stop: () => (stopped ??= stop()),
  };
}
