/**
 * The container test's helpers that need the machine: the Compose command, the base image, the
 * committed tree, the engine's images, bound UDP ports, the container's state and processes.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureCommands, type Engine } from './engine.js';
import { composeV2Works, neededTools } from './exec.js';
import { runProgramOk } from '@hearth/testkit';

/** Install in one go what is missing of `neededTools`. Returns the Compose command. */
export async function ensureTools(log: (line: string) => void): Promise<readonly string[]> {
  const v2 = composeV2Works();
  await ensureCommands(neededTools(v2), log);
  return v2 ? ['docker', 'compose'] : ['docker-compose'];
}

/** The image the official base would be (docker/Dockerfile's default NODE_IMAGE). */
export const OFFICIAL_BASE = 'node:26-bookworm-slim';
/** What docker/make-local-base.sh tags. */
export const LOCAL_BASE = 'local/node:bookworm-slim';

export interface BaseOptions {
  /** The stand-in base's parts, fetched beforehand (`make-local-base.sh --fetch`). */
  readonly fetched?: string | undefined;
  /** Run `make-local-base.sh` under `nice -n 19` (beside the suite's tests). */
  readonly niced?: boolean;
  readonly signal?: AbortSignal | undefined;
}

/**
 * The base image to build on: $HEARTH_NODE_IMAGE if set; else the official image if present or
 * pullable; else the stand-in from docker/make-local-base.sh (built now unless the engine's data
 * root still has it; from the parts in `fetched` when given).
 */
export async function pickBase(engine: Engine, repo: string, log: (line: string) => void, options: BaseOptions = {}): Promise<string> {
  const has = async (image: string) => (await engine.docker(['image', 'inspect', image])).code === 0;
  const given = process.env.HEARTH_NODE_IMAGE;
  if (given) {
    if (!(await has(given))) await runProgramOk('docker', ['pull', given], { env: engine.env, timeoutMs: 600_000, signal: options.signal, stopWithThisProcess: true });
    return given;
  }
  if (await has(OFFICIAL_BASE)) return OFFICIAL_BASE;
  const pull = await engine.docker(['pull', OFFICIAL_BASE], { timeoutMs: 600_000, signal: options.signal, stopWithThisProcess: true });
  if (pull.code === 0) return OFFICIAL_BASE;
  const why = pull.stderr.trim().split('\n').pop() ?? '';
  if (await has(LOCAL_BASE)) {
    log(`no registry (${why}): ${LOCAL_BASE} from an earlier run`);
    return LOCAL_BASE;
  }
  const { fetched } = options;
  log(`no registry (${why}): building ${LOCAL_BASE} with docker/make-local-base.sh${fetched === undefined ? '' : ` from the parts fetched in ${fetched}`}`);
  const t0 = Date.now();
  const env = fetched === undefined ? engine.env : { ...engine.env, HEARTH_BASE_FETCHED: fetched };
  const script = join(repo, 'docker/make-local-base.sh');
  const [cmd, args] = options.niced === true ? ['nice', ['-n', '19', script]] : [script, []];
  await runProgramOk(cmd, args, { env, timeoutMs: 900_000, signal: options.signal, stopWithThisProcess: true });
  log(`${LOCAL_BASE} built in ${Math.round((Date.now() - t0) / 1000)}s`);
  return LOCAL_BASE;
}

/** The committed tree of `repo` (`git archive HEAD`) in the new folder `dest`: nothing uncommitted slips in. */
export async function archiveTree(repo: string, dest: string): Promise<void> {
  await mkdir(dest);
  await runProgramOk('sh', ['-c', 'git -C "$1" archive --format=tar HEAD | tar -x -C "$2"', 'sh', repo, dest]);
}

/** The ids of every image the engine has, sorted. */
export async function imageIds(engine: Engine): Promise<string[]> {
  return (await runProgramOk('docker', ['images', '-aq', '--no-trunc'], { env: engine.env })).split('\n').filter(Boolean).sort();
}

/**
 * The environment for Compose aimed at `engine` building on `base`: `HEARTH_NODE_IMAGE`, and
 * host networking for the build's RUN steps (the engine has no bridge); the caller's project
 * settings left out.
 */
export function composeEnvironment(engine: Engine, base: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...engine.env, HEARTH_NODE_IMAGE: base, HEARTH_BUILD_NETWORK: 'host' };
  delete env.COMPOSE_PROJECT_NAME;
  delete env.COMPOSE_FILE;
  return env;
}

/** The local ports of the host's bound UDP sockets (IPv4 and IPv6). */
export async function boundUdpPorts(): Promise<number[]> {
  const ports: number[] = [];
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1];
      const hex = local?.split(':').pop();
      if (hex) ports.push(Number.parseInt(hex, 16));
    }
  }
  return ports;
}

export interface ContainerProcess {
  readonly pid: number;
  readonly uid: number;
  readonly cmd: string;
}

/** Every process in the container (read from its /proc by `exec`, which runs argv in it). */
export async function processesIn(exec: (argv: readonly string[]) => Promise<string>): Promise<ContainerProcess[]> {
  const script = `for d in /proc/[0-9]*; do
  cmd=$(tr '\\0' ' ' <"$d/cmdline" 2>/dev/null) || continue
  [ -n "$cmd" ] || continue
  printf '%s %s %s\\n' "\${d#/proc/}" "$(awk '/^Uid:/{print $2}' "$d/status")" "$cmd"
done`;
  const out = await exec(['sh', '-c', script]);
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [pid = '', uid = '', ...cmd] = line.split(' ');
      return { pid: Number(pid), uid: Number(uid), cmd: cmd.join(' ').trim() };
    });
}

/** What `docker inspect` says of a container's state. */
export interface ContainerState {
  /** created, running, restarting, exited, paused, dead */
  readonly status: string;
  /** starting, healthy, unhealthy; undefined without a health check */
  readonly health: string | undefined;
  /** Restarts by the restart policy since the container was last started by hand (or by Compose). */
  readonly restarts: number;
  /** The main process's exit code once it has ended (0 again while it runs). */
  readonly exitCode: number;
  readonly oomKilled: boolean;
  /** The engine's error in starting it, if any. */
  readonly error: string;
  /** The health check's last outputs, oldest first, each with its exit code. */
  readonly checks: readonly string[];
}

interface InspectedState {
  Status?: string;
  ExitCode?: number;
  OOMKilled?: boolean;
  Error?: string;
  Health?: { Status?: string; Log?: { ExitCode?: number; Output?: string }[] };
}

/** The state of the container `name` on `engine`. */
export async function containerState(engine: Engine, name: string): Promise<ContainerState> {
  const [inspected] = JSON.parse(await runProgramOk('docker', ['inspect', name], { env: engine.env })) as { State?: InspectedState; RestartCount?: number }[];
  const state = inspected?.State ?? {};
  return {
    status: state.Status ?? 'unknown',
    health: state.Health?.Status,
    restarts: inspected?.RestartCount ?? 0,
    exitCode: state.ExitCode ?? 0,
    oomKilled: state.OOMKilled === true,
    error: state.Error ?? '',
    checks: (state.Health?.Log ?? []).map((l) => `exit code ${l.ExitCode ?? '?'}: ${(l.Output ?? '').trim()}`),
  };
}

/** One line for a state: status, health, restarts, the exit code of a container not running, and the engine's error. */
export function describeState(state: ContainerState): string {
  const parts = [state.status];
  if (state.health !== undefined) parts.push(state.health);
  parts.push(`${state.restarts} restart${state.restarts === 1 ? '' : 's'}`);
  // While it runs again after a restart, the engine has put the exit code back to 0.
  if (state.status !== 'running') parts.push(`exit code ${state.exitCode}`);
  if (state.oomKilled) parts.push('killed for want of memory');
  if (state.error !== '') parts.push(`error: ${state.error}`);
  return parts.join(', ');
}
