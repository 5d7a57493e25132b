/** Helpers for the zero-downtime tests: `hearth up` with the fixture as a module service, and /proc. */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { ServiceStatus } from '@hearth/supervisor';
import { FIXTURE_SERVICE_PATH, waitFor } from '@hearth/testkit';
import type { Up } from '@hearth/testkit/hearth-up';

// The `hearth up` harness is the test kit's; these tests add /proc helpers to it.
export { hearth, MAIN, startUp, stopAll, type CliResult, type Up } from '@hearth/testkit/hearth-up';
export { FIXTURE_SERVICE_PATH };

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
