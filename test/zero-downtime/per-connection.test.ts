/** type: per-connection: a shell command per accepted connection, capped, reaped, never holding the listener. */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@hearth/testkit';
import { readlinkSync } from 'node:fs';
import { childrenOf, listeningInode, socketInodes, startUp, stopAll, waitRunning } from './helpers.js';

function exeOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

afterEach(stopAll);

/** Connect, send a line, collect everything until the server closes. */
function exchange(port: number, line: string, timeout = 10_000): Promise<{ text: string; ms: number }> {
  const at = Date.now();
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${timeout} ms (got ${JSON.stringify(text)})`));
    }, timeout);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${line}\n`));
    socket.on('data', (d: string) => (text += d));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, ms: Date.now() - at });
    });
  });
}

describe('type: per-connection', () => {
  it('runs the command per connection with the socket as stdin/stdout; the cap holds, excess waits and is served; no zombies; no listener in the handler', async () => {
    const up = await startUp(`services:
  echo:
    type: per-connection
    command: [sh, -c, 'read l; echo "got $l from $REMOTE_ADDR"; sleep 0.3']
    listen: { main: { port: 0 } }
    maxInstances: 2
`);
    const s = await waitRunning(up, 'echo');
    const port = s.listeners[0]!.port;
    const acceptor = s.pid!;

    // Watch the acceptor's children while 6 connections arrive at once.
    let peak = 0;
    const handlers = new Set<number>();
    let leaked = false;
    const inode = listeningInode(port);
    expect(inode).toBeDefined();
    const watch = setInterval(() => {
      const kids = childrenOf(acceptor);
      peak = Math.max(peak, kids.filter((k) => k.state !== 'Z').length);
      for (const k of kids) {
        handlers.add(k.pid);
        // Between fork and exec a child is still a copy of node: look only after exec.
        if (exeOf(k.pid) !== process.execPath && socketInodes(k.pid).has(inode!)) leaked = true;
      }
    }, 5);
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => exchange(port, `n${i}`)));
    clearInterval(watch);

    expect(results.map((r) => r.text).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `got n${i} from 127.0.0.1\n`));
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(2);
    // Three waves of 0.3 s: the excess waited for a free slot instead of being refused.
    expect(Math.max(...results.map((r) => r.ms))).toBeGreaterThanOrEqual(800);
    expect(handlers.size).toBeGreaterThanOrEqual(3);
    expect(leaked).toBe(false);
    // Reaped at once: no child is left, zombie (state Z) or not.
    await waitFor(() => childrenOf(acceptor).length === 0, { what: 'every handler reaped' });
    // Every exit is logged.
    await waitFor(() => up.lines.filter((l) => l['msg'] === 'handler exited' && l['code'] === 0).length === 6, { what: 'six exit lines' });
  });

  it('a handler runs in its own session, without the listening socket, with REMOTE_/LOCAL_ variables; stop kills a stuck one after the deadline', async () => {
    const up = await startUp(`services:
  env:
    type: per-connection
    command: [sh, -c, 'echo "$REMOTE_ADDR $REMOTE_PORT $LOCAL_ADDR $LOCAL_PORT"; cat /proc/$$/stat; echo $(for f in /proc/$$/fd/*; do readlink $f; done); sleep 30']
    listen: { main: { port: 0 } }
    stopTimeout: 300ms
`);
    const s = await waitRunning(up, 'env');
    const port = s.listeners[0]!.port;
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8').on('data', (d: string) => (text += d));
    socket.on('error', () => {});
    await waitFor(() => text.split('\n').length >= 4, { what: 'the handler output' });
    const [vars, statLine, fds] = text.split('\n');
    // Its own descriptors, seen from inside after exec: 0 and 1 are the connection (2 is the
    // stderr pipe, a socketpair in libuv), and nothing else: no listener.
    const list = fds!.split(' ');
    expect(list[0]).toMatch(/^socket:/);
    expect(list[1]).toBe(list[0]);
    expect(fds).not.toContain(`socket:[${listeningInode(port)!}]`);
    const [raddr, rport, laddr, lport] = vars!.split(' ');
    expect(raddr).toBe('127.0.0.1');
    expect(Number(rport)).toBe(socket.localPort);
    expect(laddr).toBe('127.0.0.1');
    expect(Number(lport)).toBe(port);
    const fields = statLine!.slice(statLine!.lastIndexOf(')') + 2).split(' ');
    const pid = Number(statLine!.split(' ')[0]);
    // sh is its own session leader (setsid): pgrp = session = pid.
    expect(Number(fields[2])).toBe(pid);
    expect(Number(fields[3])).toBe(pid);
    const kids = childrenOf(s.pid!);
    expect(kids.length).toBe(1);
    expect(socketInodes(kids[0]!.pid).has(listeningInode(port)!)).toBe(false);
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    expect((await up.cli('stop', 'env')).code).toBe(0);
    await closed;
    expect(childrenOf(s.pid!)).toEqual([]);
  });
});
