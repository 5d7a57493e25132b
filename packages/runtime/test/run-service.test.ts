import { fork, spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ChannelBus,
  boundAddress,
  closeBoundHandle,
  createBoundTcpHandle,
  sendWithHandle,
  type BoundHandle,
  type ServiceChannel,
  type ServiceMessage,
  type SupervisorMessage,
} from '@hearth/runtime';
import { createLogger } from '@hearth/log';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const launch = fileURLToPath(new URL('../dist/launch.js', import.meta.url));
const echo = fileURLToPath(new URL('./fixtures/echo-service.mjs', import.meta.url));
const standalone = fileURLToPath(new URL('./fixtures/standalone.mjs', import.meta.url));

const suite = { dataDir: '/nonexistent', mail: { domains: ['localhost'] }, tls: {} };
const children = new Set<ChildProcess>();
const handles: BoundHandle[] = [];
afterEach(async () => {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
  await Promise.all(handles.splice(0).map(closeBoundHandle));
});

/** A child under a test-sized supervisor: records its messages, output and exit. */
class Instance {
  readonly child: ChildProcess;
  readonly messages: ServiceMessage[] = [];
  stdout = '';
  stderr = '';
  /** Its exit, once its stdout has been read to the end too. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[] = [echo], env: NodeJS.ProcessEnv = {}) {
    this.child = fork(launch, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, ...env } });
    children.add(this.child);
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.child.on('message', (m: ServiceMessage) => this.messages.push(m));
    const read = new Promise<void>((resolve) => this.child.stdout!.once('close', () => resolve()));
    this.exit = new Promise((resolve) => this.child.on('exit', (code, signal) => void read.then(() => resolve({ code, signal }))));
  }

  send(m: SupervisorMessage): void {
    this.child.send(m);
  }

  waitFor(pred: (m: ServiceMessage) => boolean, timeout = 10_000): Promise<ServiceMessage> {
    return this.#until(() => this.messages.find(pred), timeout, () => `got ${JSON.stringify(this.messages)}; stderr ${this.stderr}`);
  }

  /** init, listener (with a fresh bound handle), start; returns the port. */
  async start(settings: unknown): Promise<number> {
    const handle = createBoundTcpHandle('127.0.0.1', 0);
    handles.push(handle);
    const spec = { name: 'main', protocol: 'tcp', address: '127.0.0.1', port: boundAddress(handle).port, tls: false } as const;
    this.send({ t: 'init', service: 'echo1', kind: 'echo', settings, suite, logLevel: 'info', listeners: [spec] });
    await sendWithHandle(this.child, { t: 'listener', name: 'main', index: 0 }, handle);
    this.send({ t: 'start' });
    return spec.port;
  }

  /**
   * The first log line `pred` accepts, waiting for it: its output (a pipe) and its messages (the
   * IPC channel) arrive in no fixed order.
   */
  waitLog(pred: (l: Record<string, unknown>) => boolean, timeout = 10_000): Promise<Record<string, unknown>> {
    return this.#until(() => this.logLines().find(pred), timeout, () => `log ${this.stdout}`);
  }

  /** What `find` gives once it gives something, looked for every 10 ms for up to `timeout` ms. */
  async #until<T>(find: () => T | undefined, timeout: number, got: () => string): Promise<T> {
    const start = Date.now();
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (Date.now() - start > timeout) throw new Error(`timeout; ${got()}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  logLines(): Array<Record<string, unknown>> {
    return this.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

function readLine(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const s = net.connect(port, host);
    s.setEncoding('utf8');
    s.on('data', (d: string) => (text += d));
    s.on('end', () => resolve(text.trim()));
    s.on('error', reject);
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

describe('runService (supervised)', () => {
  it('follows init, listener, start -> ready; reloads in place; stops on request with exit 0', async () => {
    const inst = new Instance();
    const port = await inst.start({ greeting: 'hi' });
    await inst.waitFor((m) => m.t === 'ready');
    expect(await readLine(port)).toBe(`hi ${inst.child.pid}`);

    inst.send({ t: 'reload', settings: { greeting: 'howdy' }, suite });
    expect(await inst.waitFor((m) => m.t === 'reloaded')).toEqual({ t: 'reloaded', ok: true });
    expect(await readLine(port)).toBe(`howdy ${inst.child.pid}`);

    inst.messages.length = 0;
    inst.send({ t: 'reload', settings: { greeting: 'refuse' }, suite });
    expect(await inst.waitFor((m) => m.t === 'reloaded')).toEqual({ t: 'reloaded', ok: false, error: 'greeting refused' });
    inst.messages.length = 0;
    inst.send({ t: 'reload', settings: { greting: 'typo' }, suite });
    const bad = await inst.waitFor((m) => m.t === 'reloaded');
    expect(bad).toMatchObject({ ok: false, error: expect.stringMatching(/invalid settings/) });
    expect(await readLine(port)).toBe(`howdy ${inst.child.pid}`);

    inst.send({ t: 'stop', deadlineMs: 2000 });
    expect(await inst.exit).toEqual({ code: 0, signal: null });
    const lines = inst.logLines();
    expect(lines.find((l) => l['msg'] === 'ready')).toMatchObject({ svc: 'echo1', kind: 'echo', pid: inst.child.pid });
    expect(lines.some((l) => l['msg'] === 'stopped')).toBe(true);
  });

  it('routes bus messages and subscribes on first handler', async () => {
    const inst = new Instance();
    await inst.start({});
    await inst.waitFor((m) => m.t === 'ready');
    expect(inst.messages).toContainEqual({ t: 'subscribe', topics: ['ping'] });
    inst.send({ t: 'msg', from: 'biff', topic: 'ping', payload: { n: 7 } });
    expect(await inst.waitFor((m) => m.t === 'msg')).toEqual({ t: 'msg', to: 'biff', topic: 'pong', payload: { n: 7 } });
  });

  it('exits 78 and reports a permanent failure for invalid settings', async () => {
    const inst = new Instance();
    await inst.start({ greeting: 42 });
    const failed = await inst.waitFor((m) => m.t === 'failed');
    expect(failed).toMatchObject({ t: 'failed', permanent: true, error: expect.stringMatching(/greeting/) });
    expect((await inst.exit).code).toBe(78);
    expect(inst.logLines().some((l) => l['msg'] === 'invalid settings' && l['level'] === 50)).toBe(true);
  });

  it('exits 1 with a non-permanent failure when start throws', async () => {
    const inst = new Instance();
    await inst.start({ failStart: true });
    expect(await inst.waitFor((m) => m.t === 'failed')).toMatchObject({ permanent: false, error: 'failing on purpose' });
    expect((await inst.exit).code).toBe(1);
  });

  it('logs an uncaught exception as fatal and exits 1', async () => {
    const inst = new Instance();
    await inst.start({ throwAfter: 50 });
    expect((await inst.exit).code).toBe(1);
    expect(inst.logLines().find((l) => l['level'] === 60)).toMatchObject({ msg: 'uncaught exception' });
  });

  it('stops and exits when the supervisor goes away (channel closed)', async () => {
    const inst = new Instance();
    const port = await inst.start({});
    await inst.waitFor((m) => m.t === 'ready');
    inst.child.disconnect();
    expect((await inst.exit).code).toBe(0);
    expect(await portOpen(port)).toBe(true); // our handle still listens; no instance is serving it
  });

  it('stops gracefully on SIGTERM', async () => {
    const inst = new Instance();
    await inst.start({});
    await inst.waitFor((m) => m.t === 'ready');
    inst.child.kill('SIGTERM');
    expect(await inst.exit).toEqual({ code: 0, signal: null });
  });

  it('survives SIGUSR1, SIGUSR2, SIGHUP and SIGPIPE without opening the inspector', async () => {
    const inspectorWasOpen = await portOpen(9229);
    const inst = new Instance();
    const port = await inst.start({});
    await inst.waitFor((m) => m.t === 'ready');
    for (const sig of ['SIGUSR1', 'SIGUSR2', 'SIGHUP', 'SIGPIPE'] as const) inst.child.kill(sig);
    // The service logs the signals it ignores; SIGPIPE (sent last) it ignores silently, and the
    // reply below comes after it. With these handlers installed Node never starts its inspector.
    const logged = (sig: string): boolean => inst.logLines().some((l) => l['signal'] === sig);
    for (let i = 0; i < 500 && !['SIGUSR1', 'SIGUSR2', 'SIGHUP'].every(logged); i++) await new Promise((r) => setTimeout(r, 10));
    expect(inst.child.exitCode).toBeNull();
    expect(inst.child.signalCode).toBeNull();
    expect(await readLine(port)).toBe(`hello ${inst.child.pid}`);
    expect(inst.stderr).not.toMatch(/Debugger listening/);
    if (!inspectorWasOpen) expect(await portOpen(9229)).toBe(false);
    const ignored = inst.logLines().filter((l) => l['msg'] === 'signal ignored').map((l) => l['signal']);
    expect(ignored.sort()).toEqual(['SIGUSR1', 'SIGUSR2']);
  });

  it('gives up when no start arrives in time', async () => {
    const inst = new Instance([echo], { HEARTH_INIT_TIMEOUT_MS: '200' });
    expect((await inst.exit).code).toBe(1);
    expect(inst.logLines().some((l) => l['msg'] === 'no start from the supervisor in time')).toBe(true);
  });

  it('refuses to run without an IPC channel (exit 64)', async () => {
    const child = spawn(process.execPath, [launch, echo], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.add(child);
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(64);
    expect(err).toMatch(/no IPC channel/);
  });

  it('launch rejects a module without a definition (exit 78)', async () => {
    const inst = new Instance([dist]);
    expect((await inst.exit).code).toBe(78);
    expect(inst.stderr).toMatch(/does not export a service `definition`/);
  });
});

describe('runService as a warm standby (init with standby: true)', () => {
  /** init (standby) and the listener; returns the port of the bound, not yet listening, handle. */
  async function standby(inst: Instance, settings: unknown): Promise<number> {
    const handle = createBoundTcpHandle('127.0.0.1', 0);
    handles.push(handle);
    const spec = { name: 'main', protocol: 'tcp', address: '127.0.0.1', port: boundAddress(handle).port, tls: false } as const;
    inst.send({ t: 'init', service: 'echo1', kind: 'echo', settings, suite, logLevel: 'debug', listeners: [spec], standby: true });
    await sendWithHandle(inst.child, { t: 'listener', name: 'main', index: 0 }, handle);
    return spec.port;
  }

  it('stands by without listening and past the start timeout; start promotes it to ready and serving', async () => {
    const inst = new Instance([echo], { HEARTH_INIT_TIMEOUT_MS: '300' });
    const port = await standby(inst, { greeting: 'warm' });
    await inst.waitFor((m) => m.t === 'standing-by');
    // Past the start timeout it still waits, and it has not listened (the handle is only bound).
    await new Promise((r) => setTimeout(r, 600)); // the behaviour under test: twice the 300 ms start timeout
    expect(inst.child.exitCode).toBeNull();
    expect(await portOpen(port)).toBe(false);
    expect(inst.messages.map((m) => m.t)).toEqual(['standing-by']);
    inst.send({ t: 'start' });
    await inst.waitFor((m) => m.t === 'ready');
    expect(await readLine(port)).toBe(`warm ${inst.child.pid}`);
    await inst.waitLog((l) => l['msg'] === 'promoted from standby');
    inst.send({ t: 'stop', deadlineMs: 2000 });
    expect(await inst.exit).toEqual({ code: 0, signal: null });
  });

  it('a standby asked to stop, or losing its channel, exits 0 without ever starting', async () => {
    const a = new Instance();
    await standby(a, {});
    await a.waitFor((m) => m.t === 'standing-by');
    a.send({ t: 'stop', deadlineMs: 2000 });
    expect(await a.exit).toEqual({ code: 0, signal: null });
    const b = new Instance();
    await standby(b, {});
    await b.waitFor((m) => m.t === 'standing-by');
    b.child.disconnect();
    expect((await b.exit).code).toBe(0);
    for (const inst of [a, b]) expect(inst.logLines().some((l) => l['msg'] === 'ready')).toBe(false);
  });

  it('refuses invalid settings at once (exit 78, permanent), before any start', async () => {
    const inst = new Instance();
    await standby(inst, { greeting: 42 });
    expect(await inst.waitFor((m) => m.t === 'failed')).toMatchObject({ permanent: true, error: expect.stringMatching(/greeting/) });
    expect((await inst.exit).code).toBe(78);
    expect(inst.messages.some((m) => m.t === 'standing-by')).toBe(false);
  });
});

describe('ChannelBus', () => {
  function fakeChannel(): ServiceChannel & { sent: ServiceMessage[]; flush(): void } {
    const callbacks: Array<(err: Error | null) => void> = [];
    const sent: ServiceMessage[] = [];
    return {
      connected: true,
      sent,
      send(m, cb) {
        sent.push(m);
        if (cb) callbacks.push(cb);
        return true;
      },
      onMessage: () => () => {},
      onDisconnect: () => () => {},
      flush() {
        for (const cb of callbacks.splice(0)) cb(null);
      },
    };
  }

  it('bounds messages not yet written, drops and counts past the bound', () => {
    const ch = fakeChannel();
    const bus = new ChannelBus(ch, createLogger({ svc: 't', level: 'silent' }), 3);
    expect(bus.publish('a', 1)).toBe(true);
    expect(bus.send('pop3', 'b', 2)).toBe(true);
    expect(bus.publish('a', 3)).toBe(true);
    expect(bus.publish('a', 4)).toBe(false);
    expect(bus.dropped).toBe(1);
    expect(bus.pending).toBe(3);
    ch.flush();
    expect(bus.pending).toBe(0);
    expect(bus.publish('a', 5)).toBe(true);
    expect(ch.sent).toEqual([
      { t: 'msg', topic: 'a', payload: 1 },
      { t: 'msg', to: 'pop3', topic: 'b', payload: 2 },
      { t: 'msg', topic: 'a', payload: 3 },
      { t: 'msg', topic: 'a', payload: 5 },
    ]);
  });

  it('subscribes once per topic and isolates a failing handler', () => {
    const ch = fakeChannel();
    const bus = new ChannelBus(ch, createLogger({ svc: 't', level: 'silent' }));
    const got: unknown[] = [];
    bus.on('mail', () => {
      throw new Error('handler bug');
    });
    bus.on('mail', (p, from) => got.push([p, from]));
    expect(ch.sent).toEqual([{ t: 'subscribe', topics: ['mail'] }]);
    bus.dispatch('mail', { user: 'alice' }, 'smtp');
    bus.dispatch('other', 1, 'smtp');
    expect(got).toEqual([[{ user: 'alice' }, 'smtp']]);
  });
});

describe('runStandalone', () => {
  it('binds its own listener, reloads on SIGHUP, stops on SIGINT', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));

    const child = spawn(process.execPath, [standalone, dist, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exit = new Promise((r) => child.on('exit', r));
    const until = async (re: RegExp) => {
      const start = Date.now();
      while (!re.test(out)) {
        if (Date.now() - start > 10_000) throw new Error(`timeout waiting for ${re}: ${out}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await until(/"msg":"ready"/);
    expect(await readLine(port)).toBe(`alone ${child.pid}`);
    child.kill('SIGHUP');
    await until(/"msg":"settings reloaded"/);
    expect(await readLine(port)).toBe(`reloaded1 ${child.pid}`);
    child.kill('SIGUSR1');
    await until(/"signal":"SIGUSR1","msg":"signal ignored"/);
    child.kill('SIGINT');
    expect(await exit).toBe(0);
    expect(out).toMatch(/"msg":"stopped"/);
  });

  it('says which port it got for a port 0, and serves on it', async () => {
    const child = spawn(process.execPath, [standalone, dist, '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exit = new Promise((r) => child.on('exit', r));
    const start = Date.now();
    while (!/"msg":"ready"/.test(out)) {
      if (Date.now() - start > 10_000) throw new Error(`no ready line: ${out}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const ready = JSON.parse(out.split('\n').find((l) => l.includes('"msg":"ready"'))!) as { listeners: string[] };
    const port = Number(/^main 127\.0\.0\.1:(\d+)\/tcp$/.exec(ready.listeners[0] ?? '')?.[1]);
    expect(port).toBeGreaterThan(0);
    expect(await readLine(port)).toBe(`alone ${child.pid}`);
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });
});
