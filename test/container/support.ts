/**
 * The container test's helpers that need the machine: the Compose command, the base image, free
 * and bound UDP ports, the processes in the container.
 */
import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureCommands, type Engine } from './engine.js';
import { runProgram, runProgramOk } from '@hearth/testkit';

/**
 * Install in one go what is missing: the engine and client (`docker.io`), Compose v1 (Debian's
 * `docker-compose`) unless `docker compose` (v2) works, `debootstrap` for the local base, `curl`.
 * Returns the Compose command.
 */
export async function ensureTools(log: (line: string) => void): Promise<readonly string[]> {
  const v2 = (await runProgram('docker', ['compose', 'version'])).code === 0;
  const compose: Record<string, string> = v2 ? {} : { 'docker-compose': 'docker-compose' };
  await ensureCommands({ dockerd: 'docker.io', docker: 'docker.io', debootstrap: 'debootstrap', curl: 'curl', ...compose }, log);
  return v2 ? ['docker', 'compose'] : ['docker-compose'];
}

/** The image the official base would be (docker/Dockerfile's default NODE_IMAGE). */
export const OFFICIAL_BASE = 'node:24-bookworm-slim';
/** What docker/make-local-base.sh tags. */
export const LOCAL_BASE = 'local/node:bookworm-slim';

/**
 * The base image to build on: $HEARTH_NODE_IMAGE if set; else the official image if present or
 * pullable; else the stand-in from docker/make-local-base.sh (built now unless the engine's data
 * root still has it).
 */
export async function pickBase(engine: Engine, repo: string, log: (line: string) => void): Promise<string> {
  const has = async (image: string) => (await engine.docker(['image', 'inspect', image])).code === 0;
  const given = process.env.HEARTH_NODE_IMAGE;
  if (given) {
    if (!(await has(given))) await runProgramOk('docker', ['pull', given], { env: engine.env, timeoutMs: 600_000 });
    return given;
  }
  if (await has(OFFICIAL_BASE)) return OFFICIAL_BASE;
  const pull = await engine.docker(['pull', OFFICIAL_BASE], { timeoutMs: 600_000 });
  if (pull.code === 0) return OFFICIAL_BASE;
  const why = pull.stderr.trim().split('\n').pop() ?? '';
  if (await has(LOCAL_BASE)) {
    log(`no registry (${why}): ${LOCAL_BASE} from an earlier run`);
    return LOCAL_BASE;
  }
  log(`no registry (${why}): building ${LOCAL_BASE} with docker/make-local-base.sh`);
  const t0 = Date.now();
  await runProgramOk(join(repo, 'docker/make-local-base.sh'), [], { env: engine.env, timeoutMs: 900_000 });
  log(`${LOCAL_BASE} built in ${Math.round((Date.now() - t0) / 1000)}s`);
  return LOCAL_BASE;
}

/** A UDP port on 127.0.0.1 that was free a moment ago. */
export async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', resolve);
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
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
