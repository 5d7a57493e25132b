/** `hearth up` as a child process for the zero-downtime tests, with the fixture as a module service. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlRequest, socketIsLive } from '@hearth/supervisor';
import type { ServiceStatus } from '@hearth/supervisor';
import { FIXTURE_SERVICE_PATH, makeTempDir, waitFor } from '@hearth/testkit';
import type { TempDir } from '@hearth/testkit';

export const MAIN = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));
export { FIXTURE_SERVICE_PATH };

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Up {
  readonly dir: TempDir;
  readonly data: string;
  readonly configFile: string;
  readonly proc: ChildProcess;
  readonly lines: Record<string, unknown>[];
  writeConfig(yaml: string): void;
  service(name: string): Promise<ServiceStatus>;
  request(req: Parameters<typeof controlRequest>[1]): Promise<unknown>;
  cli(...args: string[]): Promise<CliResult>;
  stop(): Promise<number | null>;
}

const ups = new Set<Up>();

export function hearth(args: readonly string[], timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export async function startUp(yaml: string): Promise<Up> {
  const dir = await makeTempDir('hearth-zd-');
  const configFile = join(dir.path, 'hearth.yaml');
  const data = join(dir.path, 'data');
  writeFileSync(configFile, yaml);
  const proc = spawn(process.execPath, [MAIN, 'up', '--config', configFile, '--data', data], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  let err = '';
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
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  const socket = join(data, 'hearth.sock');
  const up: Up = {
    dir,
    data,
    configFile,
    proc,
    lines,
    writeConfig: (text) => writeFileSync(configFile, text),
    async service(name) {
      const all = (await controlRequest(socket, { verb: 'status' }, { timeoutMs: 5000 })) as ServiceStatus[];
      const s = all.find((x) => x.name === name);
      if (!s) throw new Error(`no service ${name}`);
      return s;
    },
    request: (req) => controlRequest(socket, req, { timeoutMs: 30_000 }),
    cli: (...args) => hearth([...args, '--data', data]),
    async stop() {
      ups.delete(up);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const code = await exited;
      await dir.remove();
      return code;
    },
  };
  ups.add(up);
  await Promise.race([
    waitFor(() => socketIsLive(socket), { timeout: 10_000, what: 'the control socket' }),
    exited.then((code) => {
      throw new Error(`hearth up exited with ${code}: ${err}`);
    }),
  ]);
  return up;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...ups].map((u) => u.stop()));
}

export function waitRunning(up: Up, name: string, timeout = 10_000): Promise<ServiceStatus> {
  return waitFor(
    async () => {
      const s = await up.service(name);
      return s.state === 'running' ? s : undefined;
    },
    { timeout, interval: 25, what: `${name} running` },
  );
}

/** /proc/PID/stat fields after the command name: [state, ppid, pgrp, session, ...]. */
export function stat(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Live children of `ppid` (from /proc), with their state letter. */
export function childrenOf(ppid: number): Array<{ pid: number; state: string }> {
  const out: Array<{ pid: number; state: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = stat(Number(entry));
    if (f && Number(f[1]) === ppid) out.push({ pid: Number(entry), state: f[0]! });
  }
  return out;
}

/** Socket inodes a process holds open (from /proc/PID/fd). */
export function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** The inode of the TCP socket listening on 127.0.0.1:port (from /proc/net/tcp). */
export function listeningInode(port: number): string | undefined {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // local_address rem_address st ... inode (field 9); st 0A = LISTEN
    if (f[1] === `0100007F:${hex}` && f[3] === '0A') return f[9];
  }
  return undefined;
}

export const fixture = (name: string, extra = ''): string => `  ${name}:
    module: ${FIXTURE_SERVICE_PATH}
    listen: { main: { port: 0 } }
    stopTimeout: 3s
${extra}`;
