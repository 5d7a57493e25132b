/**
 * Multi-line responses (POP3 RFC 1939 3, SMTP DATA in reverse): every line ends in CRLF, a line
 * starting with "." gets one more ".", and ".\r\n" terminates. Bodies stream through chunk by
 * chunk (bare LF and CRLF both accepted), so a 25 MB message never sits in memory whole.
 */
import type { Writable } from 'node:stream';
import { ConnectionClosedError, writeWithBackpressure } from './writer.js';

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const CRLF = Buffer.from('\r\n');
const DOT_BYTE = Buffer.from('.');

export interface DotStufferOptions {
  /**
   * POP3 TOP: send the header, the blank line after it, then at most this many body lines.
   * Absent: the whole message.
   */
  readonly bodyLines?: number;
}

/**
 * Stateful chunk transformer: `push` each input chunk, then `finish` once. Input already in
 * canonical form (CRLF, no line starting with ".") passes through as the same buffers, uncopied.
 */
export class DotStuffer {
  /** Content bytes of the current line so far (a CR just before the LF not counted). */
  private lineLength = 0;
  /** The previous chunk ended in CR (part of a CRLF if this chunk starts with LF). */
  private prevCr = false;
  private inHeader: boolean;
  private remaining: number;
  private complete = false;

  constructor(options: DotStufferOptions = {}) {
    this.inHeader = options.bodyLines !== undefined;
    this.remaining = options.bodyLines ?? Infinity;
  }

  /** True once a TOP limit was reached: the rest of the input is not needed. */
  get done(): boolean {
    return this.complete;
  }

  /** Transformed output for `chunk`: slices of it, plus inserted dots and line ends. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let run = 0; // start of the bytes not yet emitted
    let start = 0; // start of the current line segment
    while (start < chunk.length && !this.complete) {
      if (this.lineLength === 0 && !this.prevCr && chunk[start] === DOT) {
        if (start > run) out.push(chunk.subarray(run, start));
        out.push(DOT_BYTE);
        run = start;
      }
      const nl = chunk.indexOf(LF, start);
      if (nl < 0) {
        const last = chunk.length - 1;
        this.lineLength += chunk.length - start + (this.prevCr ? 1 : 0);
        this.prevCr = chunk[last] === CR;
        if (this.prevCr) this.lineLength -= 1;
        start = chunk.length;
        break;
      }
      const crlf = nl > start ? chunk[nl - 1] === CR : this.prevCr;
      this.lineLength += nl - start + (this.prevCr && nl > start ? 1 : 0) - (crlf && nl > start ? 1 : 0);
      this.prevCr = false;
      if (!crlf) {
        if (nl > run) out.push(chunk.subarray(run, nl));
        out.push(CRLF);
        run = nl + 1;
      }
      this.endLine();
      start = nl + 1;
    }
    const end = this.complete ? start : chunk.length;
    if (end > run) out.push(chunk.subarray(run, end));
    return out;
  }

  /** Output that ends the response: the last line's line end if it had none, then ".\r\n". */
  finish(): Buffer {
    let tail = '';
    if (!this.complete) {
      if (this.prevCr) tail += '\n';
      else if (this.lineLength > 0) tail += '\r\n';
    }
    this.complete = true;
    return Buffer.from(`${tail}.\r\n`, 'latin1');
  }

  private endLine(): void {
    const empty = this.lineLength === 0;
    this.lineLength = 0;
    if (this.inHeader) {
      if (empty) {
        this.inHeader = false;
        if (this.remaining <= 0) this.complete = true;
      }
    } else if (this.remaining !== Infinity) {
      this.remaining -= 1;
      if (this.remaining <= 0) this.complete = true;
    }
  }
}

/** Dot-stuff a whole in-memory text (tests, short generated bodies). */
export function dotStuff(body: string | Buffer, options: DotStufferOptions = {}): Buffer {
  const stuffer = new DotStuffer(options);
  const input = typeof body === 'string' ? Buffer.from(body) : body;
  return Buffer.concat([...stuffer.push(input), stuffer.finish()]);
}

/**
 * Stream `source` to `socket` as a dot-stuffed multi-line body, waiting for 'drain' whenever the
 * socket's buffer is full, and write the terminating ".\r\n". Stops reading `source` early once a
 * TOP limit is reached (the source is destroyed). Rejects with ConnectionClosedError when the
 * socket closes meanwhile; the source is always destroyed on the way out.
 */
export async function writeDotStuffed(
  socket: Writable,
  source: AsyncIterable<Buffer | string> & { destroy?: (error?: Error) => unknown },
  options: DotStufferOptions = {},
): Promise<void> {
  const stuffer = new DotStuffer(options);
  try {
    for await (const chunk of source) {
      if (socket.destroyed) throw new ConnectionClosedError();
      const parts = stuffer.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      if (parts.length > 0) {
        await writeWithBackpressure(socket, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
      }
      if (stuffer.done) break;
    }
    await writeWithBackpressure(socket, stuffer.finish());
  } finally {
    source.destroy?.();
  }
}
