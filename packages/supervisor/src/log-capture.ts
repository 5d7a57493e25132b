/**
 * Child output capture: each child's stdout and stderr are split into lines (capped in length),
 * tagged with `svc`, `pid` and `stream`, written to the supervisor's log output and kept in a
 * bounded ring per service for `hearth logs`. JSON lines from Hearth services keep their fields
 * (but `svc` and `pid` are always the supervisor's truth: a child cannot forge another's tag).
 */
import type { Readable } from 'node:stream';
import pino from 'pino';
import type { Logger } from '@hearth/log';

/** Longest line kept; the rest of a longer line is dropped and the line marked `truncated`. */
export const MAX_LINE = 16 * 1024;

/** Splits a byte stream into lines of at most `max` bytes. Never buffers more than `max`. */
export function splitLines(stream: Readable, onLine: (line: string, truncated: boolean) => void, max = MAX_LINE): void {
  let parts: Buffer[] = [];
  let size = 0;
  let skipping = false;
  const flush = (truncated: boolean): void => {
    const line = Buffer.concat(parts, size).toString('utf8').replace(/\r$/, '');
    parts = [];
    size = 0;
    onLine(line, truncated);
  };
  stream.on('data', (chunk: Buffer) => {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(10, start);
      const end = nl === -1 ? chunk.length : nl;
      if (!skipping) {
        const take = Math.min(end - start, max - size);
        if (take > 0) {
          parts.push(chunk.subarray(start, start + take));
          size += take;
        }
        if (end - start > take) {
          flush(true);
          skipping = true;
        }
      }
      if (nl === -1) break;
      if (skipping) skipping = false;
      else flush(false);
      start = nl + 1;
    }
  });
  stream.on('end', () => {
    if (size > 0) flush(false);
  });
  stream.on('error', () => {});
}

/** A fixed-size ring of the most recent lines. */
export class Ring {
  readonly #lines: (string | undefined)[];
  #next = 0;
  #count = 0;
  constructor(readonly size: number) {
    this.#lines = new Array<string | undefined>(size);
  }
  push(line: string): void {
    this.#lines[this.#next] = line;
    this.#next = (this.#next + 1) % this.size;
    this.#count = Math.min(this.#count + 1, this.size);
  }
  /** The last `n` lines (all by default), oldest first. */
  tail(n = this.size): string[] {
    const k = Math.min(n, this.#count);
    const out: string[] = [];
    for (let i = this.#count - k; i < this.#count; i++) {
      const idx = (this.#next - this.#count + i + this.size * 2) % this.size;
      out.push(this.#lines[idx] ?? '');
    }
    return out;
  }
}

/** Writes a finished JSON line to the logger's own (bounded, non-blocking) output. */
export type RawWriter = (jsonLine: string) => void;

/** The raw writer of a pino logger from @hearth/log: its destination, pretty-printing included. */
export function rawWriter(logger: Logger): RawWriter {
  const stream = (logger as unknown as Record<symbol, { write(s: string): unknown } | undefined>)[pino.symbols.streamSym];
  return (line) => {
    stream?.write(`${line}\n`);
  };
}

const LEVELS: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** Turns one captured line into the JSON line logged for it. */
export function tagLine(line: string, tags: { svc: string; pid: number; stream: 'stdout' | 'stderr' }, truncated: boolean): string {
  if (line.startsWith('{') && !truncated) {
    try {
      const obj = JSON.parse(line) as unknown;
      if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
        return JSON.stringify({ ...(obj as Record<string, unknown>), svc: tags.svc, pid: tags.pid });
      }
    } catch {
      // plain text after all
    }
  }
  const level = tags.stream === 'stderr' ? LEVELS['warn'] : LEVELS['info'];
  return JSON.stringify({ level, time: Date.now(), svc: tags.svc, pid: tags.pid, stream: tags.stream, msg: line, ...(truncated ? { truncated: true } : {}) });
}

export interface LogLine {
  readonly svc: string;
  readonly line: string;
}

/** Where every captured line goes: the output, the per-service ring, and live followers. */
export class LogHub {
  readonly #rings = new Map<string, Ring>();
  readonly #followers = new Set<(l: LogLine) => void>();

  constructor(
    readonly write: RawWriter,
    readonly ringSize = 1000,
  ) {}

  /** Captures a child's stdout and stderr. */
  capture(svc: string, pid: number, stdout: Readable | null, stderr: Readable | null): void {
    if (stdout) splitLines(stdout, (line, truncated) => this.add(svc, tagLine(line, { svc, pid, stream: 'stdout' }, truncated)));
    if (stderr) splitLines(stderr, (line, truncated) => this.add(svc, tagLine(line, { svc, pid, stream: 'stderr' }, truncated)));
  }

  /** Adds a finished JSON line for `svc` (captured, or the supervisor's own about `svc`). */
  add(svc: string, line: string): void {
    this.write(line);
    this.record(svc, line);
  }

  /** Keeps a line in the ring and shows it to followers without writing it to the output. */
  record(svc: string, line: string): void {
    let ring = this.#rings.get(svc);
    if (!ring) this.#rings.set(svc, (ring = new Ring(this.ringSize)));
    ring.push(line);
    for (const f of this.#followers) f({ svc, line });
  }

  /** Recent lines of `svc` (or of every service, by time), oldest first. */
  recent(svc: string | undefined, n: number): LogLine[] {
    if (n <= 0) return [];
    if (svc !== undefined) return (this.#rings.get(svc)?.tail(n) ?? []).map((line) => ({ svc, line }));
    const all = [...this.#rings.entries()].flatMap(([s, ring]) => ring.tail(n).map((line) => ({ svc: s, line, t: timeOf(line) })));
    all.sort((a, b) => a.t - b.t);
    return all.slice(-n).map(({ svc: s, line }) => ({ svc: s, line }));
  }

  follow(listener: (l: LogLine) => void): () => void {
    this.#followers.add(listener);
    return () => this.#followers.delete(listener);
  }
}

function timeOf(line: string): number {
  const m = /"time":(\d+)/.exec(line);
  return m ? Number(m[1]) : 0;
}
