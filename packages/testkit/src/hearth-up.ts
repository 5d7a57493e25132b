/**
 * `hearth up` as a real child process, as an operator runs it (export `./hearth-up`): start it on a
 * config, read what it logs, ask its control socket, run `hearth` commands, stop it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnTied } from './guarded.js';
import { FIXTURE_SERVICE_PATH, makeTempDir, waitFor } from './index.js';
import type { TempDir } from './index.js';
import { controlRequest, socketIsLive } from '@hearth/supervisor';
import type { ServiceStatus } from '@hearth/supervisor';

export const MAIN = fileURLToPath(new URL('../../cli/dist/main.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A config's `services:` entry for the testkit fixture service: NAME, listening on a free port, then `extra` lines. */
export function fixtureEntry(name: string, extra = ''): string {
  return `  ${name}:
    module: ${FIXTURE_SERVICE_PATH}
    listen: { main: { port: 0 } }
${extra}`;
}

/** Runs `hearth ARGS` to completion (killed after `timeoutMs`); `env` is added to this process's. */
export function hearth(args: readonly string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: options.cwd ?? process.cwd(), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface Up {
  readonly dir: TempDir;
  readonly data: string;
  readonly configFile: string;
  readonly proc: ChildProcess;
  /** Parsed JSON lines of the supervisor's stdout so far. */
  readonly lines: Record<string, unknown>[];
  stderr(): string;
  status(): Promise<ServiceStatus[]>;
  service(name: string): Promise<ServiceStatus>;
  /** Replaces the config file (for `reload`). */
  writeConfig(yaml: string): void;
  /** One request on the control socket. */
  request(req: Parameters<typeof controlRequest>[1]): Promise<unknown>;
  /** `hearth ARGS --data DATA`. */
  cli(...args: string[]): Promise<CliResult>;
  /** Resolves with the exit code of `hearth up`. */
  readonly exited: Promise<number | null>;
  /** SIGTERM, wait for the exit, remove the temp dir. */
  stop(): Promise<number | null>;
}

const ups = new Set<Up>();

/**
 * Writes `yaml` to a temp dir and runs `hearth up` on it; waits until its control socket answers.
 * The supervisor leads a session and process group of its own, stopped with this process however
 * it ends (`spawnTied`): a test run killed before its teardown leaves no `hearth up` holding its
 * ports. Its own lifeline then stops its services.
 */
export async function startUp(yaml: string, options: { waitSocket?: boolean; dir?: TempDir } = {}): Promise<Up> {
  const dir = options.dir ?? (await makeTempDir('hearth-sup-'));
  const configFile = join(dir.path, 'hearth.yaml');
  const data = join(dir.path, 'data');
  writeFileSync(configFile, yaml);
  const proc = spawnTied(process.execPath, [MAIN, 'up', '--config', configFile, '--data', data], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let err = '';
  let buf = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ raw: line });
      }
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  // 'close', not 'exit': every line it wrote has been read by then.
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  const socket = join(data, 'hearth.sock');
  const up: Up = {
    dir,
    data,
    configFile,
    proc,
    lines,
    stderr: () => err,
    status: () => controlRequest(socket, { verb: 'status' }, { timeoutMs: 5000 }) as Promise<ServiceStatus[]>,
    async service(name) {
      const s = (await up.status()).find((x) => x.name === name);
      if (!s) throw new Error(`no status for ${name}`);
      return s;
    },
    writeConfig: (text) => writeFileSync(configFile, text),
    request: (req) => controlRequest(socket, req, { timeoutMs: 30_000 }),
    cli: (...args) => hearth([...args, '--data', data]),
    exited,
    async stop() {
      ups.delete(up);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const code = await exited;
      await dir.remove();
      return code;
    },
  };
  ups.add(up);
  if (options.waitSocket !== false) {
    await Promise.race([
      waitFor(() => socketIsLive(socket), { timeout: 10_000, what: 'the control socket' }),
      exited.then((code) => {
        throw new Error(`hearth up exited with ${code}: ${err}`);
      }),
    ]);
  }
  return up;
}

/** Stops every `hearth up` a test left running (afterEach). */
export async function stopAll(): Promise<void> {
  await Promise.all([...ups].map((u) => u.stop()));
}

/** Whether a pid is a live (non-zombie) process. */
export function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The process group of a live process (field 5 of /proc/PID/stat). */
export function processGroup(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[2]);
}

/** Waits for service `name` to reach `state`. */
export function waitState(up: Up, name: string, state: ServiceStatus['state'], timeout = 10_000): Promise<ServiceStatus> {
  return waitFor(
    async () => {
      const s = await up.service(name);
      return s.state === state ? s : undefined;
    },
    { timeout, interval: 50, what: `${name} to be ${state}` },
  );
}

/** The supervisor's log lines with message `msg` (for `service`). */
export function logged(up: Up, msg: string, service?: string): Record<string, unknown>[] {
  return up.lines.filter((l) => l['msg'] === msg && (service === undefined || l['service'] === service));
}

/**
 * The first log line with message `msg` (for `service`) at or after index `from` of `up.lines`,
 * and its index, once it has come: the supervisor's log output is asynchronous, so a line written
 * while a command ran can reach the test after the CLI's answer to that command.
 */
export function loggedLine(up: Up, msg: string, service?: string, from = 0): Promise<{ line: Record<string, unknown>; index: number }> {
  return waitFor(
    () => {
      const index = up.lines.findIndex((l, i) => i >= from && l['msg'] === msg && (service === undefined || l['service'] === service));
      return index < 0 ? undefined : { line: up.lines[index]!, index };
    },
    { what: `the log line "${msg}"${service === undefined ? '' : ` of ${service}`}` },
  );
}
