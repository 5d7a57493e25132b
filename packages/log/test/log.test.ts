import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, droppedLines, flushLogger } from '@hearth/log';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const flood = fileURLToPath(new URL('./fixtures/flood.mjs', import.meta.url));

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('createLogger', () => {
  it('writes JSON lines with svc, pid, time, level and message', () => {
    const out = capture();
    const log = createLogger({ svc: 'smtp', destination: out.stream, pretty: false, base: { kind: 'smtp' } });
    log.child({ cid: 'c1' }).info({ remote: '127.0.0.1' }, 'connection');
    const [line] = out.lines();
    expect(line).toMatchObject({ svc: 'smtp', pid: process.pid, kind: 'smtp', cid: 'c1', remote: '127.0.0.1', msg: 'connection', level: 30 });
    expect(typeof line?.['time']).toBe('number');
  });

  it('redacts passwords and AUTH payloads', () => {
    const out = capture();
    const log = createLogger({ svc: 'pop3', destination: out.stream, pretty: false });
    log.info({ user: 'alice', password: 'hunter2' }, 'login');
    log.info({ cmd: { verb: 'PASS', pass: 'hunter2' }, auth: 'AGFsaWNlAGh1bnRlcjI=' }, 'command');
    log.info({ req: { headers: { authorization: 'Basic YWxpY2U6aHVudGVyMg==' } } }, 'request');
    const text = JSON.stringify(out.lines());
    expect(text).not.toMatch(/hunter2|AGFsaWNl|YWxpY2U/);
    expect(text).toContain('alice');
    expect(out.lines()[0]?.['password']).toBe('[redacted]');
  });

  it('filters by level', () => {
    const out = capture();
    const log = createLogger({ svc: 'x', destination: out.stream, pretty: false, level: 'warn' });
    log.info('hidden');
    log.debug('hidden');
    log.warn('shown');
    log.error('shown too');
    expect(out.lines().map((l) => l['msg'])).toEqual(['shown', 'shown too']);
  });

  it('pretty-prints in-process when asked', () => {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        chunks.push(String(chunk));
        cb();
      },
    });
    const log = createLogger({ svc: 'biff', destination: stream, pretty: true });
    log.info({ user: 'bob' }, 'notified');
    const text = chunks.join('');
    expect(text).toMatch(/INFO.*notified/);
    expect(text).not.toMatch(/^\{/);
  });

  it('flushLogger resolves at once for an idle logger', async () => {
    const log = createLogger({ svc: 'x', destination: capture().stream });
    await flushLogger(log);
    expect(droppedLines(log)).toBe(0);
  });
});

describe('output to a pipe', () => {
  const children: ReturnType<typeof spawn>[] = [];
  afterEach(() => {
    for (const c of children) c.kill('SIGKILL');
    children.length = 0;
  });

  it('delivers every line to a reader and flushes before exit, its flushes leaving no listener behind', async () => {
    const child = spawn(process.execPath, [flood, dist, 'all'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let text = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    // Ten flushes while lines were being written: Node warns at an eleventh 'error' listener.
    expect(err).toBe('');
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(2000);
    expect(JSON.parse(lines[1999]!)).toMatchObject({ svc: 'flood', i: 1999 });
  });

  it('settles a flush when the reader has gone (EPIPE), so the program exits with its own code', async () => {
    const child = spawn(process.execPath, [flood, dist, 'closed'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    child.stdout.destroy();
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(err).toBe('flushed\n');
    expect(code).toBe(0);
  });

  it('exits when its terminal went away (EIO), instead of retrying the lost lines for ever at exit', async () => {
    // stdout is a pseudo-terminal whose other side closes, as when an ssh session drops.
    const runner = `
import os, subprocess, sys
master, slave = os.openpty()
p = subprocess.Popen(sys.argv[1:], stdout=slave, stderr=subprocess.PIPE)
os.close(slave)
os.read(master, 1)  # its first line has come: the terminal goes away now
os.close(master)
try:
    p.wait(timeout=10)
    print("exited", p.stderr.read().decode().splitlines()[0])
except subprocess.TimeoutExpired:
    p.kill()
    print("hung")
`;
    const child = spawn('python3', ['-c', runner, process.execPath, flood, dist, 'hangup'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    await new Promise((resolve) => child.on('close', resolve));
    // Node 20 then fails its own tty reset at exit (fixed in later Node versions): the process
    // still exits, which is what matters here.
    expect(out.trim()).toBe('exited flushed');
  }, 20_000);

  it('says in the log how many lines it dropped, once the reader caught up', async () => {
    const child = spawn(process.execPath, [flood, dist, 'burst'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let text = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code, err).toBe(0);
    const dropped = Number(/^dropped=(\d+)$/m.exec(err)?.[1]);
    expect(dropped).toBeGreaterThan(10_000);
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const told = lines.filter((l) => l['msg'] === 'log lines dropped: the output was not read fast enough');
    expect(told.length).toBeGreaterThan(0);
    expect(told[0]).toMatchObject({ level: 40, svc: 'flood' });
    // Every dropped line is told, once: the warnings add up to the count.
    expect(told.reduce((sum, l) => sum + (l['dropped'] as number), 0)).toBe(dropped);
    expect(lines.filter((l) => l['msg'] === 'line').length + dropped).toBe(20_000);
  });

  it('never blocks the event loop when nobody reads, and counts what it dropped', async () => {
    const child = spawn(process.execPath, [flood, dist, 'stuck'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    // stdout is deliberately never read.
    child.stdout.pause();
    const report = await new Promise<string>((resolve, reject) => {
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        err += d;
        if (err.includes('\n')) resolve(err);
      });
      child.on('exit', (code) => reject(new Error(`child exited early (${code}): ${err}`)));
    });
    const m = /^alive after=\d+ dropped=(\d+)/.exec(report);
    expect(m, report).not.toBeNull();
    // 20,000 lines of ~260 bytes into a 64 KiB pipe and a 64 KiB buffer: most were dropped.
    expect(Number(m![1])).toBeGreaterThan(10_000);
  });
});
