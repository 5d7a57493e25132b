/**
 * `hearth logs` on a terminal (a pseudo-terminal from Python's pty module) under a real `hearth
 * up`: one line per event with its level and every field, so a failed POP3 login says who and
 * from where; piped, the JSON lines as stored.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTranscript, waitFor } from '@hearth/testkit';
import { startUp, stopAll, waitState, type Up } from '@hearth/testkit/hearth-up';
import { humanLine } from '../src/commands/logs.js';
import { onTerminal } from './terminal.js';

let up: Up;

beforeAll(async () => {
  up = await startUp(`services:
  pop3:
    service: pop3
    standby: false
    listen: { pop3: { address: 127.0.0.1, port: 0 } }
    settings: { loginFailureDelay: 0s }
`);
  const pop3 = await waitState(up, 'pop3', 'running', 20_000);
  const socket = connect(pop3.listeners[0]!.port, '127.0.0.1');
  try {
    await runTranscript(socket, [
      [null, /^\+OK/],
      ['USER mallory', /^\+OK/],
      ['PASS guess', /^-ERR/],
    ]);
  } finally {
    socket.destroy();
  }
  await waitFor(async () => (await up.cli('logs', 'pop3', '--json')).stdout.includes('"login failed"'), { timeout: 10_000, what: 'the failed login to be logged' });
}, 60_000);
afterAll(stopAll);

describe('hearth logs', () => {
  it('on a terminal: time, service[pid], level, message and every other field as key=value', async () => {
    const out = (await onTerminal(up.data, ['logs', 'pop3'])).replace(/\r/g, '');
    const failed = out.split('\n').find((l) => / login failed /.test(l));
    expect(failed).toMatch(/^\d\d:\d\d:\d\d\.\d{3} pop3\[\d+\] WARN {2}login failed( \S+=\S+)+$/);
    expect(failed).toContain(' user=mallory');
    expect(failed).toContain(' remote=127.0.0.1');
    expect(failed).toContain(' mechanism=USER');
    expect(out).toMatch(/^\d\d:\d\d:\d\d\.\d{3} pop3\[\d+\] INFO {2}ready listeners=\["pop3 127\.0\.0\.1:\d+\/tcp"\]$/m);
  }, 30_000);

  it('piped: the JSON lines as stored', async () => {
    const r = await up.cli('logs', 'pop3');
    const failed = r.stdout.split('\n').filter((l) => l.includes('"login failed"'));
    expect(failed).toHaveLength(1);
    expect(JSON.parse(failed[0]!)).toMatchObject({ level: 40, svc: 'pop3', user: 'mallory', remote: '127.0.0.1' });
  });

  it('quotes a value with a space or a quote, shows an error by its message, and a plain line as it came', () => {
    const line = JSON.stringify({ level: 50, time: Date.UTC(2026, 0, 2, 3, 4, 5, 6), svc: 'smtp', pid: 7, kind: 'smtp', msg: 'store refused the message', reason: 'disk "full" now', n: 3, err: { type: 'Error', message: 'ENOSPC: no space', stack: 'Error: ENOSPC\n    at x' } });
    expect(humanLine('smtp', line)).toBe('03:04:05.006 smtp[7] ERROR store refused the message reason="disk \\"full\\" now" n=3 err="ENOSPC: no space"');
    expect(humanLine('web', 'Serving HTTP on 0.0.0.0 port 8000')).toBe('web Serving HTTP on 0.0.0.0 port 8000');
  });
});
