/**
 * `hearth status --watch` on an 80x24 terminal (a pseudo-terminal from Python's pty module) under a
 * real `hearth up`: each frame fits the screen, as watch(1) and top cut theirs (a wrapped frame
 * pushed the heading off and scrolled at every redraw), and a failed service's reason shows at the
 * start of the line below its row, as do those of a service that exited under `restart: never`
 * (shown as stopped) and of one held back for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@hearth/testkit';
import { startUp, stopAll, waitState, type Up } from '@hearth/testkit/hearth-up';
import { onTerminal, startOnTerminal } from './terminal.js';

let up: Up;

const CONFIG = `services:
  pop3:
    service: pop3
    standby: false
    listen: { pop3: { address: 127.0.0.1, port: 0 } }
  loop:
    command: [sh, -c, "exit 2"]
    backoff: { initial: 10ms }
    crashLoop: { failures: 3, window: 30s }
  once:
    command: [sh, -c, "exit 0"]
    restart: never
    ready: { delay: 1s }
  tail:
    command: [sleep, "1000"]
    requires: [once]
`;
const ONCE_REASON = 'exited (exit code 0); restart: never does not start it again';
const TAIL_REASON = 'not started: it requires once, which exited';

beforeAll(async () => {
  up = await startUp(CONFIG);
  await waitState(up, 'pop3', 'running', 20_000);
  await waitState(up, 'loop', 'failed', 20_000);
  await waitFor(async () => (await up.service('tail')).reason === TAIL_REASON, { timeout: 20_000, what: 'tail held back for once' });
}, 60_000);
afterAll(stopAll);

describe('hearth status --watch on a terminal', () => {
  it('cuts each frame to the terminal, and shows under its row why a service failed, or exited and is not started again, and why one waits for it', async () => {
    const out = await onTerminal(up.data, ['status', '--watch', '--interval', '0.1', '--count', '2']);
    // A frame: cursor home, lines each ended by erase-to-end-of-line, then erase the rest.
    const frames = out.split('\x1b[H').filter((f) => f !== '');
    expect(frames).toHaveLength(2);
    for (const frame of frames) {
      const lines = frame.replace(/\x1b\[J/g, '').replace(/\r/g, '').split('\x1b[K\n').filter((l, i, all) => i < all.length - 1 || l !== '');
      expect(lines.length).toBeLessThanOrEqual(23);
      for (const line of lines) expect(line.replace(/\x1b\[K/g, '').length, line).toBeLessThanOrEqual(79);
      expect(lines[0]).toMatch(/^hearth status, every 0\.1s: /);
      expect(lines[2]).toMatch(/^SERVICE +STATE +PID/);
      const loop = lines.findIndex((l) => l.startsWith('loop '));
      expect(lines[loop]).toMatch(/^loop +failed /);
      expect(lines[loop + 1]).toMatch(/^ {9}crash loop: 3 failures within /);
      expect(lines.some((l) => /^pop3 +running /.test(l))).toBe(true);
      // Exited, not started again: stopped, and why under its row; and why what requires it waits.
      const once = lines.findIndex((l) => l.startsWith('once '));
      expect(lines[once]).toMatch(/^once +stopped +- .* code 0 /);
      expect(lines[once + 1]).toBe(`${' '.repeat(9)}${ONCE_REASON}`);
      const tail = lines.findIndex((l) => l.startsWith('tail '));
      expect(lines[tail]).toMatch(/^tail +stopped /);
      expect(lines[tail + 1]).toBe(`${' '.repeat(9)}${TAIL_REASON}`);
    }
  }, 30_000);

  it('without --watch, the table is not cut: every counter is there', async () => {
    const r = await up.cli('status');
    const pop3 = r.stdout.split('\n').find((l) => l.startsWith('pop3 '))!;
    expect(pop3.length).toBeGreaterThan(79);
    expect(pop3).toMatch(/pushWaiting=0$/);
  });

  it('goes on while hearth up is down, saying so, and shows the services again once it is back (it ended at the first failed refresh)', async () => {
    const watch = startOnTerminal(up.data, ['status', '--watch', '--interval', '0.1', '--count', '600'], { columns: 100, rows: 40 });
    const child = watch.child;
    try {
      await waitFor(() => /pop3 +running /.test(watch.output()), { timeout: 10_000, what: 'a first frame' });
      expect((await up.cli('down')).code).toBe(0);
      await up.exited;
      await waitFor(() => watch.output().includes('hearth status, every 0.1s') && /no supervisor is running \(no answer on /.test(watch.output()), { timeout: 10_000, what: 'the frame saying so' });
      expect(child.exitCode).toBeNull();
      const mark = watch.output().length;
      await startUp(CONFIG, { dir: up.dir });
      await waitFor(() => /pop3 +running /.test(watch.output().slice(mark)), { timeout: 30_000, what: 'the services shown again' });
    } finally {
      child.kill();
    }
  }, 60_000);
});
