/** Small helpers for Hearth's tests: temp dirs, waiting, loopback clients, transcripts. */
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface TempDir {
  readonly path: string;
  remove(): Promise<void>;
}

/** A fresh directory under the system temp dir. */
export async function makeTempDir(prefix = 'hearth-test-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface WaitOptions {
  /** ms; default 5000. */
  readonly timeout?: number;
  /** ms between checks; default 10. */
  readonly interval?: number;
  /** Named in the timeout error. */
  readonly what?: string;
}

/** Poll `predicate` until it returns a truthy value (which is returned); throws on timeout. */
export async function waitFor<T>(predicate: () => T | Promise<T>, options: WaitOptions = {}): Promise<NonNullable<T>> {
  const timeout = options.timeout ?? 5000;
  const start = Date.now();
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() - start >= timeout) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeout} ms waiting for ${options.what ?? 'condition'}${why}`);
    }
    await new Promise((r) => setTimeout(r, options.interval ?? 10));
  }
}

/** A port that was free a moment ago (bind 0, read, close). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The range the kernel takes a connection's local port from when none is asked for. */
export async function ephemeralRange(): Promise<readonly [number, number]> {
  const text = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '32768 60999');
  const [low = 32768, high = 60999] = text.trim().split(/\s+/).map(Number);
  return [low, high];
}

/**
 * One port on 127.0.0.1 for each protocol of `protocols`, all different, each free for its
 * protocol when tried: the ports of `range` (first and last; by default 10000 up to the kernel's
 * ephemeral range, `ephemeralRange`, so that no connection's local port takes one between the pick
 * and a later bind) in turn from a random start. Two calls of `freePort` can give the same port.
 */
export async function freePorts<const P extends readonly ('tcp' | 'udp')[]>(protocols: P, range?: readonly [number, number]): Promise<{ -readonly [K in keyof P]: number }> {
  const [first, last] = range ?? (await belowEphemeral());
  const span = last - first + 1;
  const picked: number[] = [];
  let offset = Math.floor(Math.random() * span);
  for (const protocol of protocols) {
    for (let tries = 0; ; tries += 1) {
      if (tries === span) throw new Error(`no free ${protocol} port on 127.0.0.1 in ${first}-${last} beside ${picked.join(', ') || 'none'}`);
      const port = first + offset;
      offset = (offset + 1) % span;
      if (!picked.includes(port) && (await isFree(protocol, port))) {
        picked.push(port);
        break;
      }
    }
  }
  return picked as { -readonly [K in keyof P]: number };
}

/** 10000 up to the ephemeral range; the unprivileged ports above 1023 where it starts lower than 11000. */
async function belowEphemeral(): Promise<[number, number]> {
  const [low] = await ephemeralRange();
  return low >= 11_000 ? [10_000, low - 1] : [1024, 65535];
}

/** Whether `port` on 127.0.0.1 can be bound for `protocol` now (bound, then let go). */
async function isFree(protocol: 'tcp' | 'udp', port: number): Promise<boolean> {
  const socket = protocol === 'udp' ? dgram.createSocket('udp4') : net.createServer();
  const bound = await new Promise<boolean>((resolve) => {
    socket.once('error', () => resolve(false));
    if (socket instanceof net.Server) socket.listen(port, '127.0.0.1', () => resolve(true));
    else socket.bind(port, '127.0.0.1', () => resolve(true));
  });
  if (bound) await new Promise<void>((resolve) => socket.close(() => resolve()));
  return bound;
}

/** Connect, read the first line (without its line end), close. */
export function connectAndReadLine(port: number, host = '127.0.0.1', timeout = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = net.connect(port, host);
    const timer = setTimeout(() => fail(new Error(`${host}:${port}: no line within ${timeout} ms (got ${JSON.stringify(text)})`)), timeout);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      text += d;
      const nl = text.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        socket.destroy();
        resolve(text.slice(0, nl).replace(/\r$/, ''));
      }
    });
    socket.on('end', () => fail(new Error(`${host}:${port}: closed before a full line (got ${JSON.stringify(text)})`)));
    socket.on('error', fail);
  });
}

/** Whether a TCP connection to the port is refused (nothing listens there); false once one connects. */
export function connectionRefused(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/** Send one datagram and resolve with the first reply. */
export function udpRequest(port: number, message: string | Buffer, host = '127.0.0.1', timeout = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`${host}:${port}/udp: no reply within ${timeout} ms`));
    }, timeout);
    socket.on('error', (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
    socket.on('message', (data) => {
      clearTimeout(timer);
      socket.close();
      resolve(data);
    });
    socket.send(message, port, host);
  });
}

/** One step: a line to send (or null to only read), and what the reply must match. */
export type TranscriptStep = readonly [send: string | null, expect: RegExp];

export interface TranscriptOptions {
  /** Appended to each sent line; default CRLF. */
  readonly eol?: string;
  /** Per step, ms; default 5000. */
  readonly timeout?: number;
}

/**
 * Play `[send, expect]` pairs on a line-protocol socket: write `send` (plus CRLF), then read
 * until the text received since the previous step matches `expect` (write the pattern for the
 * last line of a multi-line reply). Resolves with the text each step received; rejects naming
 * the step, what was sent, expected and received.
 */
export function runTranscript(socket: net.Socket, steps: readonly TranscriptStep[], options: TranscriptOptions = {}): Promise<string[]> {
  const eol = options.eol ?? '\r\n';
  const timeout = options.timeout ?? 5000;
  let buffer = '';
  let wake: (() => void) | undefined;
  let closed: Error | undefined;
  const onData = (d: Buffer | string) => {
    buffer += d.toString();
    wake?.();
  };
  const onEnd = () => {
    closed = new Error('connection closed');
    wake?.();
  };
  const onError = (err: Error) => {
    closed = err;
    wake?.();
  };
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('error', onError);

  const step = async (i: number, send: string | null, expect: RegExp): Promise<string> => {
    if (send !== null) socket.write(send + eol);
    const deadline = Date.now() + timeout;
    for (;;) {
      const m = expect.exec(buffer);
      if (m) {
        // Consume through the end of the line holding the match.
        const nl = buffer.indexOf('\n', m.index + m[0].length - (m[0].endsWith('\n') ? 1 : 0));
        const cut = nl < 0 ? buffer.length : nl + 1;
        const got = buffer.slice(0, cut);
        buffer = buffer.slice(cut);
        return got;
      }
      const left = deadline - Date.now();
      if (closed || left <= 0) {
        const why = closed ? closed.message : `no match within ${timeout} ms`;
        throw new Error(
          `transcript step ${i + 1}: ${why}; sent ${JSON.stringify(send)}, expected ${expect}, received ${JSON.stringify(buffer)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
    }
  };

  return (async () => {
    const out: string[] = [];
    try {
      for (const [i, [send, expect]] of steps.entries()) out.push(await step(i, send, expect));
      return out;
    } finally {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
    }
  })();
}

/** Absolute path of the compiled fixture service (`module:` for a supervisor config). */
export const FIXTURE_SERVICE_PATH = fileURLToPath(new URL('./fixtures/fixture-service.js', import.meta.url));

/** `file:` URL of the echo kind's module (exports `manifest` and `definition`; see fixtures/echo-kind.ts). */
export const ECHO_KIND_MODULE = new URL('./fixtures/echo-kind.js', import.meta.url).href;

/**
 * A registry of service kinds for supervisor tests, in the shape `@hearth/supervisor` takes
 * (plain data): kind `fixture` is the fixture service, run by the supervisor as `node
 * fixtures/main.js`. `hearth up`'s embedded default with this registry runs one fixture.
 */
export const FIXTURE_KINDS = Object.freeze({
  fixture: {
    manifest: { module: new URL('./fixtures/fixture-service.js', import.meta.url).href, export: 'definition' },
    definition: { module: new URL('./fixtures/fixture-service.js', import.meta.url).href, export: 'definition' },
    entry: fileURLToPath(new URL('./fixtures/main.js', import.meta.url)),
  },
});

/**
 * Absolute path of `@hearth/runtime/launch` (`node LAUNCH MODULE` runs a service module). Resolved
 * with `require.resolve` (its export has only a `default` condition, which both resolvers take):
 * vitest's module runner, which loads a project's `globalSetup`, has no `import.meta.resolve`.
 */
export const LAUNCH_PATH = createRequire(import.meta.url).resolve('@hearth/runtime/launch');

export { oneConnection, percentile, startLoad } from './load.js';
export { LineClient, LineFailure } from './line-client.js';
export { startMailChurn, type MailChurnOptions, type MailChurnResult, type Pop3Account, type RunningMailChurn, type SessionSample } from './mail-churn.js';
export type { LoadOptions, LoadResult, Outcome, RunningLoad, Sample } from './load.js';
export { FakeSupervisorChannel } from './fake-channel.js';
export { mountSmallDisk, type SmallDisk } from './small-disk.js';
export { runProgram, runProgramOk, type ProgramOptions, type ProgramResult } from './program.js';
export { spawnGuarded, spawnTied, type GuardedProgram } from './guarded.js';
