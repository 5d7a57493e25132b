/**
 * The container test's helpers that need the machine: the Compose command, the base image, free
 * and bound UDP ports, the processes in the container.
 */
import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureCommands, type Engine } from './engine.js';
import { composeV2Works, neededTools } from './exec.js';
import { runProgramOk, waitFor } from '@hearth/testkit';
import { OUTCOME_FILE, type PrefetchOutcome } from './prefetch.js';

/** Install in one go what is missing of `neededTools`. Returns the Compose command. */
export async function ensureTools(log: (line: string) => void): Promise<readonly string[]> {
  const v2 = composeV2Works();
  await ensureCommands(neededTools(v2), log);
  return v2 ? ['docker', 'compose'] : ['docker-compose'];
}

/** The image the official base would be (docker/Dockerfile's default NODE_IMAGE). */
export const OFFICIAL_BASE = 'node:24-bookworm-slim';
/** What docker/make-local-base.sh tags. */
export const LOCAL_BASE = 'local/node:bookworm-slim';

/**
 * The base image to build on: $HEARTH_NODE_IMAGE if set; else the official image if present or
 * pullable; else the stand-in from docker/make-local-base.sh (built now unless the engine's data
 * root still has it; from the parts in `fetched` when given, `prefetch.ts`).
 */
export async function pickBase(engine: Engine, repo: string, log: (line: string) => void, fetched?: string): Promise<string> {
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
  log(`no registry (${why}): building ${LOCAL_BASE} with docker/make-local-base.sh${fetched === undefined ? '' : ` from the parts fetched in ${fetched}`}`);
  const t0 = Date.now();
  const env = fetched === undefined ? engine.env : { ...engine.env, HEARTH_BASE_FETCHED: fetched };
  await runProgramOk(join(repo, 'docker/make-local-base.sh'), [], { env, timeoutMs: 900_000 });
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

/**
 * For the test: waits for the prefetch in `dir` (null: it did not run) to end, says in the log
 * how it ended, and gives the folder of the base's parts it fetched (`HEARTH_BASE_FETCHED`), or
 * undefined when there are none: it did not run, a registry answered, or it failed (the test then
 * fetches what it needs itself).
 */
export async function awaitPrefetch(dir: string | null, log: (line: string) => void): Promise<string | undefined> {
  if (dir === null) return undefined;
  const file = join(dir, OUTCOME_FILE);
  // Until the file is there and whole (an error counts as not yet).
  const outcome = await waitFor(async () => JSON.parse(await readFile(file, 'utf8')) as PrefetchOutcome, {
    timeout: 900_000,
    interval: 250,
    what: 'the prefetch started with the run (test/container/prefetch.ts) to end',
  });
  switch (outcome.kind) {
    case 'fetched':
      log(`prefetch: packages installed, the stand-in base's parts fetched while the suite ran (${outcome.seconds}s)`);
      return join(dir, 'base');
    case 'installed':
      log(`prefetch: packages installed while the suite ran (${outcome.seconds}s); no base parts fetched: ${outcome.why}`);
      return undefined;
    case 'failed':
      log(`prefetch failed, done here instead: ${outcome.error}`);
      return undefined;
  }
}
