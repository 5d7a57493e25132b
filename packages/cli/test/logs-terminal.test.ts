/**
 * `hearth logs` on a terminal (a pseudo-terminal from Python's pty module) under a real `hearth
 * up`: one line per event with its level and every field, so a failed POP3 login says who and
 * from where; piped, the JSON lines as stored.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTranscript, waitFor } from '@hearth/testkit';
import { MAIN, startUp, stopAll, waitState, type Up } from '@hearth/testkit/hearth-up';
import { humanLine } from '../src/commands/logs.js';

let up: Up;

/** Runs `hearth ARGS --data DATA` under a pty; its whole output once it exits. */
const RUNNER = `
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b''
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
os.waitpid(pid, 0)
sys.stdout.write(out.decode('utf8', 'replace'))
`;

function onTerminal(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', RUNNER, process.execPath, MAIN, ...args, '--data', up.data]);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', () => resolve(out.replace(/\r/g, '')));
  });
}

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
    const out = await onTerminal('logs', 'pop3');
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
