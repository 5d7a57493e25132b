/** Message routing between services and log capture, through a real supervisor. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURE_SERVICE_PATH, makeTempDir, waitFor } from '@hearth/testkit';
import { startUp, stopAll, waitState } from '@hearth/testkit/hearth-up';

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
    // Sent again every 50 ms until the first answer comes, rather than once after a guessed delay.
    const timer = setInterval(() => ctx.bus.send('fix', 'echo', 'ping'), 50);
    ctx.bus.on('echo', (payload, from) => {
      clearInterval(timer);
      ctx.log.info({ payload, from }, 'got echo');
    });
    ctx.bus.on('news', (payload, from) => ctx.log.info({ payload, from }, 'got news'));
    return { async stop() { clearInterval(timer); } };
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

/** A pinger that sends `ping N` to the fixture every 50 ms until stopped. */
function steadyPingerModule(): string {
  const zod = import.meta.resolve('zod');
  return `import { z } from '${zod}';
export const definition = {
  kind: 'pinger',
  settings: z.strictObject({}),
  defaultListeners: [],
  async start(ctx) {
    ctx.bus.on('echo', (payload, from) => ctx.log.info({ payload, from }, 'got echo'));
    let n = 0;
    const timer = setInterval(() => ctx.bus.send('fix', 'echo', n++), 50);
    return { async stop() { clearInterval(timer); } };
  },
};
`;
}

describe('message bus and the warm standby', () => {
  it('a message to a service by name reaches its running instance, never its standby', async () => {
    const dir = await makeTempDir('hearth-bus-');
    writeFileSync(join(dir.path, 'pinger.mjs'), steadyPingerModule());
    // debug: a standby that got a message would log "message before start dropped".
    const up = await startUp(`log: { level: debug }
services:
  fix:
    module: ${FIXTURE_SERVICE_PATH}
    listen: { main: { port: 0 } }
  pinger:
    module: ./pinger.mjs
    requires: [fix]
    standby: false
`, { dir });
    const fix = await waitFor(async () => {
      const s = await up.service('fix');
      return s.standbyPid !== null ? s : undefined;
    }, { timeout: 20_000, what: 'the standby' });
    const echoes = () => up.lines.filter((l) => l['msg'] === 'got echo').length;
    const seen = echoes();
    await waitFor(() => echoes() >= seen + 10, { timeout: 10_000, what: 'ten more echoes' });
    expect(up.lines.some((l) => l['svc'] === 'fix' && l['pid'] === fix.standbyPid && l['msg'] === 'standing by')).toBe(true);
    expect(up.lines.filter((l) => l['msg'] === 'message before start dropped')).toEqual([]);
    // One echo per ping: only one instance answered each.
    const payloads = up.lines.filter((l) => l['msg'] === 'got echo').map((l) => l['payload']);
    expect(new Set(payloads).size).toBe(payloads.length);
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
    const { MAIN } = await import('@hearth/testkit/hearth-up');
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
    // A follow ends when the supervisor stops, and says so.
    const second = spawn(process.execPath, [MAIN, 'logs', 'tick', '-f', '-n', '1', '--json', '--data', up.data], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let lines = '';
    second.stdout.setEncoding('utf8').on('data', (d: string) => (lines += d));
    second.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const ended = new Promise((resolve) => second.on('close', (c) => resolve(c)));
    await waitFor(() => lines.includes('tick '), { timeout: 5000, what: 'a followed line' });
    await up.stop();
    expect(await ended).toBe(1);
    expect(err).toBe('hearth logs: the supervisor stopped\n');
  });
});
