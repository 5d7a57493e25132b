/**
 * A load generator of short connections: `loops` concurrent loops, each connecting, reading one
 * reply line and closing, again and again, until stopped (or `durationMs` / `maxConnections`).
 * Every connection is classified, so a test can demand 0 refused, 0 reset and 0 lost replies,
 * and its latency is kept (with its start time) for percentiles over a window.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export type Outcome = 'ok' | 'refused' | 'reset' | 'lost' | 'timeout' | 'bad' | 'error';

export interface LoadOptions {
  readonly port: number;
  readonly host?: string;
  /** Concurrent loops (default 8). */
  readonly loops?: number;
  /** Stop by itself after this long (ms); default: only when `stop()` is called. */
  readonly durationMs?: number;
  /** Stop by itself after this many connections in total. */
  readonly maxConnections?: number;
  /** A connection with no full reply line after this long counts as `timeout` (default 5000). */
  readonly timeoutMs?: number;
  /** Sent after connecting (e.g. a request line); default nothing. */
  readonly send?: string;
  /** A reply line that fails this check counts as `bad` (default: any line). */
  readonly check?: (line: string) => boolean;
  /** Pause between two connections of one loop (ms, default 0). */
  readonly pauseMs?: number;
}

export interface Sample {
  /** `performance.now()` when the connection began. */
  readonly at: number;
  /** Connect to reply line, ms. */
  readonly ms: number;
  readonly outcome: Outcome;
  /** The reply line (ok/bad), for tests that look at who answered. */
  readonly line?: string;
}

export interface LoadResult {
  readonly total: number;
  readonly counts: Readonly<Record<Outcome, number>>;
  /** Every outcome other than `ok`. */
  readonly failed: number;
  readonly samples: readonly Sample[];
  readonly elapsedMs: number;
  /** First few failures, described, for an assertion message. */
  readonly errors: readonly string[];
}

export interface RunningLoad {
  /** Connections finished so far. */
  readonly total: number;
  /** Ends every loop after its current connection; resolves with the result. */
  stop(): Promise<LoadResult>;
  /** Resolves when the load ended by itself (duration or count) or was stopped. */
  readonly done: Promise<LoadResult>;
}

/** Percentile (0..100) of `values` (nearest rank); 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** One short connection. */
export function oneConnection(options: LoadOptions): Promise<Sample> {
  const host = options.host ?? '127.0.0.1';
  const timeoutMs = options.timeoutMs ?? 5000;
  const at = performance.now();
  return new Promise((resolve) => {
    let text = '';
    let settled = false;
    const socket = net.connect({ port: options.port, host });
    const finish = (outcome: Outcome, line?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ at, ms: performance.now() - at, outcome, ...(line !== undefined ? { line } : {}) });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      if (options.send !== undefined) socket.write(options.send);
    });
    socket.on('data', (d: string) => {
      text += d;
      const nl = text.indexOf('\n');
      if (nl === -1) return;
      const line = text.slice(0, nl).replace(/\r$/, '');
      finish(options.check && !options.check(line) ? 'bad' : 'ok', line);
    });
    socket.on('end', () => finish('lost'));
    socket.on('close', () => finish('lost'));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') finish('refused');
      else if (err.code === 'ECONNRESET' || err.code === 'EPIPE') finish('reset');
      else finish('error');
    });
  });
}

/** Starts the loops; see `RunningLoad`. */
export function startLoad(options: LoadOptions): RunningLoad {
  const loops = options.loops ?? 8;
  const samples: Sample[] = [];
  const errors: string[] = [];
  const started = performance.now();
  let stopping = false;
  let stopTimer: NodeJS.Timeout | undefined;
  if (options.durationMs !== undefined) stopTimer = setTimeout(() => (stopping = true), options.durationMs);
  const loop = async (): Promise<void> => {
    while (!stopping) {
      if (options.maxConnections !== undefined && samples.length >= options.maxConnections) break;
      const s = await oneConnection(options);
      samples.push(s);
      if (s.outcome !== 'ok' && errors.length < 10) errors.push(`${s.outcome} after ${s.ms.toFixed(1)} ms${s.line !== undefined ? ` (${JSON.stringify(s.line)})` : ''}`);
      if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
    }
  };
  const done = Promise.all(Array.from({ length: loops }, loop)).then((): LoadResult => {
    clearTimeout(stopTimer);
    const counts: Record<Outcome, number> = { ok: 0, refused: 0, reset: 0, lost: 0, timeout: 0, bad: 0, error: 0 };
    for (const s of samples) counts[s.outcome]++;
    return { total: samples.length, counts, failed: samples.length - counts.ok, samples, elapsedMs: performance.now() - started, errors };
  });
  return {
    get total() {
      return samples.length;
    },
    stop() {
      stopping = true;
      return done;
    },
    done,
  };
}
