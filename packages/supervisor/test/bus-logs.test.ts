/** Message routing between services and log capture, through a real supervisor. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURE_SERVICE_PATH, makeTempDir, waitFor } from '@hearth/testkit';
import { startUp, stopAll, waitState } from './helpers.js';

afterEach(stopAll);

/** A service module written to a temp dir: sends `ping` to the fixture (by name and by topic), logs the echo. */
function pingerModule(): string {
  const runtime = import.meta.resolve('@hearth/runtime');
  const zod = import.meta.resolve('zod');
  return `import { z } from '${zod}';
void '${runtime}';
export const definition = {
  kind: 'pinger',
  settings: z.strictObject({}),
  defaultListeners: [],
  async start(ctx) {
    ctx.bus.on('echo', (payload, from) => ctx.log.info({ payload, from }, 'got echo'));
    ctx.bus.on('news', (payload, from) => ctx.log.info({ payload, from }, 'got news'));
    setTimeout(() => ctx.bus.send('fix', 'echo', 'ping'), 50);
    return { async stop() {} };
  },
};
`;
}

describe('message bus', () => {
  it('routes a message to a service by name and the answer back', async () => {
    const dir = await makeTempDir('hearth-bus-');
    const mod = join(dir.path, 'pinger.mjs');
    writeFileSync(mod, pingerModule());
    const up = await startUp(`services:
  fix:
    module: ${FIXTURE_SERVICE_PATH}
    listen: { main: { port: 0 } }
  pinger:
    module: ./pinger.mjs
    requires: [fix]
`, { dir });
    await waitState(up, 'pinger', 'running');
    const got = await waitFor(() => up.lines.find((l) => l['msg'] === 'got echo'), { timeout: 5000, what: 'the echo' });
    expect(got).toMatchObject({ svc: 'pinger', payload: 'ping', from: 'fix' });
  });
});

describe('log capture', () => {
  it('tags plain lines with svc, pid and stream, caps long lines, keeps recent lines for hearth logs', async () => {
    const up = await startUp(`services:
  talk:
    command: [sh, -c, 'echo plain words; echo "{\\"msg\\":\\"structured\\",\\"svc\\":\\"forged\\",\\"x\\":1}"; echo to-stderr >&2; head -c 40000 /dev/zero | tr "\\\\0" a; echo; echo after; exec sleep 1000']
`);
    const s = await waitState(up, 'talk', 'running');
    await waitFor(() => up.lines.some((l) => l['msg'] === 'after'), { timeout: 5000, what: 'the last line' });
    expect(up.lines.find((l) => l['msg'] === 'plain words')).toMatchObject({ svc: 'talk', pid: s.pid, stream: 'stdout', level: 30 });
    expect(up.lines.find((l) => l['msg'] === 'to-stderr')).toMatchObject({ svc: 'talk', stream: 'stderr', level: 40 });
    // JSON lines keep their fields, but svc and pid are the supervisor's truth.
    expect(up.lines.find((l) => l['msg'] === 'structured')).toMatchObject({ svc: 'talk', pid: s.pid, x: 1 });
    const long = up.lines.find((l) => typeof l['msg'] === 'string' && (l['msg'] as string).startsWith('aaaa'));
    expect(long).toMatchObject({ truncated: true });
    expect((long!['msg'] as string).length).toBe(16 * 1024);

    const logs = await up.cli('logs', 'talk', '--json', '-n', '3');
    const lines = logs.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l['msg'])).toContain('after');
    expect(lines.length).toBeLessThanOrEqual(3);
    const unknown = await up.cli('logs', 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe('hearth logs: no service named "nope"');
  });

  it('follows new lines with logs -f', async () => {
    const up = await startUp(`services:
  tick:
    command: [sh, -c, 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done']
`);
    await waitState(up, 'tick', 'running');
    const { spawn } = await import('node:child_process');
    const { MAIN } = await import('./helpers.js');
    const follower = spawn(process.execPath, [MAIN, 'logs', 'tick', '-f', '-n', '0', '--json', '--data', up.data], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    follower.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    try {
      await waitFor(() => out.split('\n').filter((l) => l.includes('tick ')).length >= 3, { timeout: 5000, what: 'three followed lines' });
    } finally {
      follower.kill('SIGINT');
    }
    const code = await new Promise((resolve) => follower.on('exit', (c, sig) => resolve(c ?? sig)));
    expect(code).toBe(0);
  });
});
