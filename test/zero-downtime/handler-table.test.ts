/**
 * The handler table at service level: the fixture registers each listener's handler as an entry
 * and holds a lease per connection; the runtime drains the table at stop.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectAndReadLine, waitFor } from '@hearth/testkit';
import { FIXTURE_SERVICE_PATH, startUp, stopAll, waitRunning } from './helpers.js';

afterEach(stopAll);

const config = (settings: string, stopTimeout = '3s') => `services:
  fix:
    module: ${FIXTURE_SERVICE_PATH}
    listen: { main: { port: 0 } }
    stopTimeout: ${stopTimeout}
    settings: ${settings}
`;

/** A connection that collects every line until the server closes; `ask()` sends the line that lets a `doneWhenAsked` transfer end. */
function transfer(port: number): { lines: string[]; closed: Promise<string[]>; ask(): void } {
  const lines: string[] = [];
  let buf = '';
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) !== -1) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  socket.on('error', () => {});
  return { lines, closed: new Promise((resolve) => socket.on('close', () => resolve(lines))), ask: () => socket.write('done?\n') };
}

// Long enough (3 s) that a reload through the CLI lands mid-way even on a loaded machine.
const CHUNKS = 20;
const LONG = `{ greeting: old, chunks: ${CHUNKS}, replyDelay: 150ms }`;
/** Lines of a complete transfer: one per chunk, then `done`. */
const COMPLETE = CHUNKS + 1;

describe('handler table (service level)', () => {
  it('a long transfer on an entry replaced mid-way completes on the old one; new connections see the new one', async () => {
    // The transfer ends only when asked: the reload lands mid-way however long it takes.
    const up = await startUp(config(`{ greeting: old, chunks: ${CHUNKS}, replyDelay: 150ms, doneWhenAsked: true }`));
    const s = await waitRunning(up, 'fix');
    const port = s.listeners[0]!.port;
    const long = transfer(port);
    await waitFor(() => long.lines.length >= 2, { what: 'the transfer under way' });
    up.writeConfig(config('{ greeting: new }'));
    expect((await up.cli('reload')).stdout.trim()).toBe('reloaded in place: fix');
    expect(await connectAndReadLine(port)).toBe(`new ${s.pid}`);
    expect(long.lines.length).toBeLessThan(COMPLETE);
    long.ask();
    const all = await long.closed;
    expect(all).toEqual([...Array.from({ length: CHUNKS }, (_, i) => `old ${s.pid} ${i}`), `old ${s.pid} done`]);
  });

  it('an entry removed mid-way: new connections get "gone", the running transfer completes', async () => {
    const up = await startUp(config(LONG));
    const s = await waitRunning(up, 'fix');
    const port = s.listeners[0]!.port;
    const long = transfer(port);
    await waitFor(() => long.lines.length >= 2, { what: 'the transfer under way' });
    up.writeConfig(config(`{ greeting: old, chunks: ${CHUNKS}, replyDelay: 150ms, offline: [main] }`));
    expect((await up.cli('reload')).code).toBe(0);
    expect(await connectAndReadLine(port)).toBe('gone main');
    expect(await long.closed).toHaveLength(COMPLETE);
  });

  it('stop waits for the count to reach zero (the fixture itself does not wait); cut at the deadline', async () => {
    const up = await startUp(config(LONG));
    const s = await waitRunning(up, 'fix');
    const long = transfer(s.listeners[0]!.port);
    await waitFor(() => long.lines.length >= 1, { what: 'the transfer under way' });
    const at = Date.now();
    const res = await up.cli('stop', 'fix');
    expect(res.code).toBe(0);
    expect(await long.closed).toHaveLength(COMPLETE);
    expect(Date.now() - at).toBeGreaterThanOrEqual(400);
    expect((await up.service('fix')).lastExit).toMatchObject({ code: 0 });

    // With a deadline shorter than the transfer: cut, and the stop is not clean. The reload gives
    // the stopped service its new config without starting it; hearth start does.
    up.writeConfig(config(LONG, '200ms'));
    expect(await up.cli('reload')).toMatchObject({ code: 0, stdout: 'updated, still stopped: fix\n' });
    expect((await up.cli('start', 'fix')).code).toBe(0);
    const again = await waitRunning(up, 'fix');
    const cut = transfer(again.listeners[0]!.port);
    await waitFor(() => cut.lines.length >= 1, { what: 'the transfer under way' });
    await up.cli('stop', 'fix');
    expect((await cut.closed).length).toBeLessThan(COMPLETE);
    expect((await up.service('fix')).lastExit).toMatchObject({ code: 1 });
  });
});
