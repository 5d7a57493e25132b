/**
 * RETR streams from the store with back-pressure: 50 concurrent RETRs of a 25 MB message, first
 * held back by clients that do not read, then read to the end, keep the server's RSS under 150 MB.
 * The server runs in its own process (fixtures/locked-server.mjs) so its RSS is its own; it reports
 * over IPC what it has written to each connection, so the test sees the bodies held back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { openSuiteAccounts } from '@hearth/accounts';
import { openMailStore } from '@hearth/mail-store';
import { removeDir } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLIENTS = 50;
const LINE = `${'x'.repeat(998)}\r\n`;
const BODY = `Subject: big\r\n\r\n${LINE.repeat(25 * 1000)}`; // 25 MB

let dir: string | undefined;
let child: ChildProcess | undefined;
const sockets: Socket[] = [];

afterAll(() => {
  for (const s of sockets) s.destroy();
  if (child && child.exitCode === null) child.kill('SIGKILL');
  if (dir) removeDir(dir);
});

interface Written {
  /** Bytes the session handed to its socket (in the kernel or still queued in the process). */
  readonly sent: number;
  readonly queued: number;
  readonly peakQueued: number;
  readonly needDrain: boolean;
}

/** What the server has written to each connection, in the order they came. */
function written(server: ChildProcess): Promise<Written[]> {
  return new Promise((resolve) => {
    server.once('message', (m) => resolve(m as Written[]));
    server.send('stats');
  });
}

/** Asks `check` every 20 ms until it returns something; throws after `ms`. */
async function until<T>(check: () => Promise<T | undefined>, what: string, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

it('50 concurrent RETRs of a 25 MB message keep the server under 150 MB RSS', async () => {
  dir = mkdtempSync(join(tmpdir(), 'pop3-memory-'));
  const store = await openMailStore({ dir: join(dir, 'mail') });
  const accounts = await openSuiteAccounts(dir, { passwordParams: { ln: 4, r: 8, p: 1 } });
  for (let i = 0; i < CLIENTS; i++) {
    store.addMaildrop(`u${i}`);
    await accounts.add(`u${i}`, 'pw');
  }
  await accounts.close();
  await store.deliver({ recipients: Array.from({ length: CLIENTS }, (_, i) => `u${i}`), body: BODY });
  await store.close();

  child = spawn(process.execPath, [join(here, 'fixtures', 'locked-server.mjs'), dir], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    cwd: join(here, '..'),
  });
  const port = await new Promise<number>((resolve, reject) => {
    child!.stdout!.once('data', (data: Buffer) => resolve(Number(data.toString().trim())));
    child!.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  const pid = child.pid!;
  const baseline = rssMb(pid);
  let peak = baseline;
  const sample = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 20);

  const received = new Array<number>(CLIENTS).fill(0);
  const done: Array<Promise<string>> = [];
  for (let i = 0; i < CLIENTS; i++) {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    socket.on('error', () => {});
    // Paused before any data listener: attaching one does not resume a socket paused explicitly,
    // so nothing is read until resume() below and the server must hold the bodies back.
    socket.pause();
    socket.write(`USER u${i}\r\nPASS pw\r\nRETR 1\r\n`);
    done.push(
      new Promise((resolve, reject) => {
        let tail = '';
        socket.on('data', (data: Buffer) => {
          received[i]! += data.length;
          tail = (tail + data.toString('latin1', Math.max(0, data.length - 16))).slice(-16);
          if (received[i]! > 25_000_000 && tail.endsWith('\r\n.\r\n')) resolve(tail);
        });
        socket.on('close', () => reject(new Error(`client ${i} closed after ${received[i]} bytes`)));
      }),
    );
  }
  // Every session logs in and starts its RETR while no client reads, until its socket is full
  // (the kernel's buffers on both ends) and waits for 'drain'. A server without back-pressure
  // never waits: it goes on reading the body into its own memory.
  const held = await until(async () => {
    const w = await written(child!);
    return w.length === CLIENTS && w.every((c) => c.needDrain) ? w : undefined;
  }, `all ${CLIENTS} sessions waiting for their clients to read`);
  // A later request through the same server proves it went on working meanwhile.
  const later = await written(child);
  const peakWhileHeld = Math.max(peak, rssMb(pid));
  const unread = received.reduce((a, b) => a + b, 0);
  for (const s of sockets) s.resume();
  await Promise.all(done);
  clearInterval(sample);
  peak = Math.max(peak, rssMb(pid));

  // Each client got the whole message (25,000 lines of 1,000 bytes plus header and terminator).
  const expected = Buffer.byteLength(BODY) + '+OK Send your password\r\n'.length + 3;
  for (const n of received) expect(n).toBeGreaterThan(expected);
  expect(unread).toBe(0);
  // While held, each session had sent less than half its body (what the kernel's socket buffers
  // take) and queued at most a few chunks in the process; after the clients read, none ever
  // queued more.
  const heldSent = Math.max(...held.map((c) => c.sent), ...later.map((c) => c.sent));
  expect(heldSent).toBeGreaterThan(0);
  expect(heldSent).toBeLessThan(Buffer.byteLength(BODY) / 2);
  const after = await written(child);
  for (const c of after) expect(c.peakQueued).toBeLessThan(1024 * 1024);
  expect(peakWhileHeld).toBeLessThan(150);
  expect(peak).toBeLessThan(150);
  console.log(
    `server RSS: ${baseline.toFixed(1)} MB idle, peak ${peak.toFixed(1)} MB (${peakWhileHeld.toFixed(1)} MB while clients did not read); ` +
      `held: at most ${(heldSent / 1e6).toFixed(1)} MB sent per session, at most ${(Math.max(...after.map((c) => c.peakQueued)) / 1024).toFixed(0)} KiB queued`,
  );
}, 120_000);
