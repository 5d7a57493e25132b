/**
 * Hearth's loggers: pino, JSON lines tagged with `svc` and `pid`, pretty on a terminal, secrets
 * redacted, and never blocking the event loop on a slow reader (bounded async buffer; what does
 * not fit is dropped and counted).
 */
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import pino, { type DestinationStream, type Logger as PinoLogger, type LoggerOptions } from 'pino';
import type { PrettyOptions } from 'pino-pretty';

export type Logger = PinoLogger;

/** A file descriptor, or a stream written as is. */
export type LogDestination = number | Writable | DestinationStream;

/** Default bound of the output buffer (bytes); past it new lines are dropped and counted. */
export const DEFAULT_MAX_BUFFER = 4 * 1024 * 1024;

/** Paths whose values never reach the log. */
export const REDACT_PATHS: readonly string[] = [
  'password',
  'pass',
  'passwd',
  'secret',
  'auth',
  'authorization',
  'credentials',
  '*.password',
  '*.pass',
  '*.passwd',
  '*.secret',
  '*.auth',
  '*.authorization',
  '*.credentials',
  '*.*.authorization',
];

export interface LoggerOptionsIn {
  /** The service (or `supervisor`) the lines belong to. */
  readonly svc: string;
  /** pino level name (`trace`..`fatal`, `silent`); default `info`. */
  readonly level?: string;
  /** `'auto'` (default): pretty when writing to stdout and stdout is a terminal. */
  readonly pretty?: boolean | 'auto';
  /** A file descriptor (default 1) or a stream. A stream is written as is (not bounded here). */
  readonly destination?: LogDestination;
  /** Bound of the async buffer in bytes, for fd destinations. Default 4 MiB. */
  readonly maxBuffer?: number;
  /** Extra fields on every line. */
  readonly base?: Record<string, unknown>;
}

interface Sink {
  dropped: number;
  /** The reader went away (EPIPE): nothing buffered will ever be written. */
  broken: boolean;
  /** Resolve once what is buffered has been written (bounded by the caller's timeout). */
  flush(): Promise<void>;
}

interface SonicInternals {
  _writing: boolean;
  _len: number;
  destroyed: boolean;
}

/** Output stream (as pino holds it) -> its drop counter and flush. */
const sinks = new WeakMap<object, Sink>();

function boundedFd(fd: number, maxBuffer: number): { stream: DestinationStream & NodeJS.EventEmitter; sink: Sink } {
  const sonic = pino.destination({ dest: fd, sync: false, minLength: 0, maxLength: maxBuffer });
  const sink: Sink = {
    dropped: 0,
    broken: false,
    flush: () =>
      new Promise<void>((resolve) => {
        const s = sonic as unknown as SonicInternals;
        if (sink.broken || s.destroyed || (!s._writing && s._len === 0)) {
          resolve();
          return;
        }
        // Whichever comes first takes both listeners off: a flush while lines are being written
        // must leave nothing behind on the stream (one 'error' listener per flush piled up).
        const settle = (): void => {
          sonic.off('drain', settle);
          sonic.off('error', settle);
          resolve();
        };
        sonic.on('drain', settle);
        sonic.on('error', settle);
      }),
  };
  sonic.on('drop', () => {
    sink.dropped++;
  });
  // A closed reader (EPIPE), a terminal gone (EIO), a full disk (ENOSPC) must not crash the
  // process: logging just fails until a write goes through again, and a flush has nothing left
  // to wait for.
  sonic.on('error', () => {
    sink.broken = true;
  });
  sonic.on('write', () => {
    sink.broken = false;
  });
  // At exit pino flushes synchronously (flushSync), and sonic-boom's flushSync retries a failed
  // write every 100 ms for ever, whatever the error: a supervisor whose terminal went away hung
  // there after a clean shutdown. What failed a moment ago is not tried again at exit.
  const flushSync = sonic.flushSync.bind(sonic);
  sonic.flushSync = () => {
    if (!sink.broken) flushSync();
  };
  return { stream: sonic, sink };
}

/**
 * pino-pretty's line formatter, loaded only when pretty output is chosen: every process that
 * logs JSON (the supervisor under a service manager, every service) would otherwise carry it
 * and its dependencies for nothing (a few MiB each). It is CommonJS, so a synchronous require
 * keeps `createLogger` synchronous.
 */
function prettyFormatter(options: PrettyOptions): (line: string) => string {
  const require = createRequire(import.meta.url);
  const pinoPretty = require('pino-pretty') as typeof import('pino-pretty');
  return pinoPretty.prettyFactory(options) as (line: string) => string;
}

/**
 * Lines dropped are said in the log itself, as rsyslog says "N messages lost": once the buffer
 * has drained, one warning with how many were dropped since the last one (its own line goes
 * through the same bound: if it is dropped too, the next drain counts it).
 */
function tellDrops(logger: Logger, sink: Sink, stream: NodeJS.EventEmitter): void {
  let told = 0;
  stream.on('drain', () => {
    if (sink.dropped <= told) return;
    const dropped = sink.dropped - told;
    told = sink.dropped;
    logger.warn({ dropped, droppedTotal: sink.dropped }, 'log lines dropped: the output was not read fast enough');
  });
}

/** Create a root logger. Child loggers (`logger.child({ cid })`) share its output. */
export function createLogger(opts: LoggerOptionsIn): Logger {
  const dest = opts.destination ?? 1;
  const isFd = typeof dest === 'number';
  const pretty = opts.pretty === 'auto' || opts.pretty === undefined ? isFd && dest === 1 && process.stdout.isTTY === true : opts.pretty;

  let out: DestinationStream;
  let bounded: ReturnType<typeof boundedFd> | undefined;
  if (isFd) {
    bounded = boundedFd(dest, opts.maxBuffer ?? DEFAULT_MAX_BUFFER);
    out = bounded.stream;
  } else {
    out = dest as DestinationStream;
  }
  if (pretty) {
    // In-process (not a worker-thread transport): one small function per line, output bounded as above.
    // One line per event, its fields inline: a start is a screenful, not dozens of indented lines each.
    const format = prettyFormatter({ colorize: isFd && dest === 1 && process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'hostname', singleLine: true });
    const target = out;
    out = { write: (line: string) => target.write(format(line)) };
  }

  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    base: { svc: opts.svc, pid: process.pid, ...opts.base },
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
  };
  const logger = pino(options, out);
  if (bounded) {
    // Found through the stream pino writes to (the pretty formatter's, when there is one); the
    // drains are the bounded stream's own.
    sinks.set(out, bounded.sink);
    tellDrops(logger, bounded.sink, bounded.stream);
  }
  return logger;
}

/** Children share their root's output stream: the sink is found through it. */
function rootSink(logger: Logger): Sink | undefined {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  return stream !== null && typeof stream === 'object' ? sinks.get(stream) : undefined;
}

/** How many log lines were dropped because the reader was too slow (0 for stream destinations). */
export function droppedLines(logger: Logger): number {
  return rootSink(logger)?.dropped ?? 0;
}

/**
 * Wait until buffered lines are written, at most `timeoutMs` (a stuck reader must not hold an
 * exit). The timer keeps the process alive while it runs: the caller awaits this, and an awaited
 * promise that nothing can settle ends a Node program with exit code 13 instead of its own.
 */
export async function flushLogger(logger: Logger, timeoutMs = 2000): Promise<void> {
  const sink = rootSink(logger);
  if (!sink) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([sink.flush(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
}
