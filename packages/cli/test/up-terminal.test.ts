/**
 * `hearth up` on a terminal (a pseudo-terminal from Python's pty module) prints a summary once
 * everything is ready and one pretty line per event; piped, it writes JSON lines only.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '@hearth/testkit';
import { MAIN } from '@hearth/testkit/hearth-up';

let dir: TempDir | undefined;
afterEach(async () => {
  await dir?.remove();
  dir = undefined;
});

const CONFIG = `services:
  pop3:
    service: pop3
    listen:
      pop3: { address: 127.0.0.1, port: 0 }
      pop3s: { address: 127.0.0.1, port: 0, tls: true }
  admin:
    service: admin
    listen: { https: { address: 127.0.0.1, port: 0, tls: true } }
`;

/** Runs hearth up, under a pty when `tty`, until `until` shows in its output; then SIGTERM and its whole output. */
const RUNNER = `
import os, pty, select, signal, subprocess, sys, time
argv, tty, until = sys.argv[1:-2], sys.argv[-2] == '1', sys.argv[-1].encode()
if tty:
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
else:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    pid, fd = proc.pid, proc.stdout.fileno()
out, stopped, deadline = b'', False, time.time() + 60
while time.time() < deadline:
    if not stopped and until in out:
        os.kill(pid, signal.SIGTERM)
        stopped = True
    r, _, _ = select.select([fd], [], [], 1)
    if not r:
        continue
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

function run(tty: boolean, until: string, config: string, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', RUNNER, process.execPath, MAIN, 'up', '--config', config, '--data', data, tty ? '1' : '0', until]);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}

describe('hearth up output', () => {
  it('on a terminal: a summary once ready (services, addresses, data dir, first user, setup link) and one line per log event', async () => {
    dir = await makeTempDir('up-tty-');
    const config = join(dir.path, 'hearth.yaml');
    await writeFile(config, CONFIG);
    const data = join(dir.path, 'data');
    const out = (await run(true, 'Stop with', config, data)).replace(/\r/g, '');
    expect(out).toMatch(/\nHearth is ready\.\n {2}pop3 +running +pop3 127\.0\.0\.1:\d+, pop3s 127\.0\.0\.1:\d+\n {2}admin +running +https 127\.0\.0\.1:\d+\n/);
    const token = (await readFile(join(data, 'admin', 'setup-token'), 'utf8')).trim();
    expect(out).toMatch(new RegExp(`No administrator can sign in: create one at https://127\\.0\\.0\\.1:\\d+/setup\\?token=${token} \\(the link works once\\)\\.`));
    expect(out).toContain(`Data: ${data} (mail in ${join(data, 'mail')})`);
    expect(out).toContain(`No users yet: add one with \`hearth user add NAME --data ${data}\``);
    const logLines = out.split('\n').filter((l) => /^\[\d\d:\d\d:\d\d\.\d{3}\]/.test(l));
    expect(logLines.some((l) => l.includes('supervisor ready'))).toBe(true);
    // Fields inline: no indented "key: value" lines, no JSON lines.
    expect(out.split('\n').filter((l) => /^ {4}\w+: /.test(l) || l.startsWith('{'))).toEqual([]);
  }, 90_000);

  it('on a terminal, plain commands: says which are not running and why, and nothing of users or mail', async () => {
    dir = await makeTempDir('up-tty-');
    const config = join(dir.path, 'hearth.yaml');
    await writeFile(config, `services:
  deaf:
    command: [sleep, "1000"]
    ready: { tcp: "127.0.0.1:1" }
    readyTimeout: 300ms
  nap:
    command: [sleep, "1000"]
`);
    const data = join(dir.path, 'data');
    const out = (await run(true, 'Stop with', config, data)).replace(/\r/g, '');
    expect(out).toContain('\nHearth is up, but 1 of 2 services is not running (`hearth status`, `hearth logs NAME`):\n');
    expect(out).toMatch(/\n {2}deaf +(backoff|starting) +\(no listeners\) +not ready within 300 ms\n {2}nap +running +\(no listeners\)\n/);
    expect(out).toContain(`Data: ${data}\n`);
    expect(out).not.toContain('mail in');
    expect(out).not.toContain('No users yet');
  }, 90_000);

  it('piped: JSON lines only, no summary', async () => {
    dir = await makeTempDir('up-pipe-');
    const config = join(dir.path, 'hearth.yaml');
    await writeFile(config, CONFIG);
    const out = await run(false, '"msg":"ready"', config, join(dir.path, 'data'));
    const lines = out.split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(out).not.toContain('Hearth is ready');
  }, 90_000);
});
