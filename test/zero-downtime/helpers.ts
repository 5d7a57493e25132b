/** Helpers for the zero-downtime tests: `hearth up` with the fixture as a module service, and /proc. */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
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

/** A loopback client of a line protocol (POP3, SMTP) for transcripts: `expect(send, reply)`. */
export class RawLines {
  #buffer = '';
  #ended = false;
  #wake: (() => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.#buffer += d;
      this.#wake?.();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#ended = true;
      this.#wake?.();
    });
  }

  static connect(port: number): Promise<RawLines> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(new RawLines(socket)));
      socket.once('error', reject);
    });
  }

  /** The next line (without CRLF); throws once the server closed with nothing left to read. */
  async next(): Promise<string> {
    for (;;) {
      const nl = this.#buffer.indexOf('\r\n');
      if (nl !== -1) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 2);
        return line;
      }
      if (this.#ended) throw new Error('connection closed before a full line');
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }

  /** Sends `line` (unless null), reads one line and checks it against `reply`. */
  async expect(line: string | null, reply: RegExp): Promise<string> {
    if (line !== null) this.socket.write(`${line}\r\n`);
    const got = await this.next();
    if (!reply.test(got)) throw new Error(`${line ?? '(greeting)'}: expected ${String(reply)}, got ${got}`);
    return got;
  }

  /** Sends a POP3 command with a multi-line answer; returns its lines up to the final dot. */
  async multiline(line: string): Promise<string[]> {
    await this.expect(line, /^\+OK/);
    const lines: string[] = [];
    for (let l = await this.next(); l !== '.'; l = await this.next()) lines.push(l);
    return lines;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
