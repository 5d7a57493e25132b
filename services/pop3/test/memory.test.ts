/**
 * RETR streams from the store with back-pressure: 50 concurrent RETRs of a 25 MB message, first
 * held back by clients that do not read, then read to the end, keep the server's RSS under 150 MB.
 * The server runs in its own process (fixtures/locked-server.mjs) so its RSS is its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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
    stdio: ['ignore', 'pipe', 'inherit'],
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
    socket.write(`USER u${i}\r\nPASS pw\r\nRETR 1\r\n`);
    socket.pause(); // not reading yet: the server must hold the bodies back
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
  // Every session logs in and starts its RETR while no client reads.
  await sleep(2000);
  const heldBack = received.reduce((a, b) => a + b, 0);
  const peakWhileHeld = peak;
  for (const s of sockets) s.resume();
  await Promise.all(done);
  clearInterval(sample);
  peak = Math.max(peak, rssMb(pid));

  // Each client got the whole message (25,000 lines of 1,000 bytes plus header and terminator).
  const expected = Buffer.byteLength(BODY) + '+OK Send your password\r\n'.length + 3;
  for (const n of received) expect(n).toBeGreaterThan(expected);
  expect(heldBack).toBe(0);
  expect(peakWhileHeld).toBeLessThan(150);
  expect(peak).toBeLessThan(150);
  console.log(`server RSS: ${baseline.toFixed(1)} MB idle, peak ${peak.toFixed(1)} MB (${peakWhileHeld.toFixed(1)} MB while clients did not read)`);
}, 120_000);
