/**
 * A line reader over a byte stream with a hard line-length cap.
 *
 * It hands ONE line to the session and reads the next only once the (possibly async) handler has
 * finished: pipelined commands are answered in order, and a client that sends faster than we
 * answer is held back by TCP flow control (the stream is paused while a handler runs).
 * CRLF and bare LF both end a line. A line longer than the cap produces one `overflow` event as
 * soon as the cap is passed (without waiting for its end), and the rest of it is discarded.
 */
import type { Readable } from 'node:stream';

export interface LineReaderOptions {
  /** Longest accepted line in bytes, not counting the CRLF/LF. */
  readonly maxLineLength: number;
  /** One complete line, without its line end. The next line waits for the returned promise. */
  onLine(line: string): void | Promise<void>;
  /** A line passed the cap; the rest of it (up to the next LF) is discarded. */
  onOverflow(): void | Promise<void>;
  /** A handler threw or rejected. Default: destroy the stream with the error. */
  onError?(error: unknown): void;
  /** Decoding of lines (default utf8). */
  readonly encoding?: BufferEncoding;
}

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);

export class LineReader {
  private buffer: Buffer = EMPTY;
  private busy = false;
  private discarding = false;
  private stopped = false;
  private readonly onData = (chunk: Buffer | string): void => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.buffer = this.buffer.length === 0 ? bytes : Buffer.concat([this.buffer, bytes]);
    void this.pump();
  };

  constructor(
    private readonly stream: Readable,
    private readonly options: LineReaderOptions,
  ) {
    stream.on('data', this.onData);
  }

  /** True once `stop()` was called. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /**
   * Stop reading: detach from the stream, pause it and drop whatever was buffered (for STLS,
   * RFC 2595 says the client's pipelined plaintext after the command must be discarded).
   * Returns the number of bytes dropped.
   */
  stop(): number {
    if (this.stopped) return 0;
    this.stopped = true;
    this.stream.off('data', this.onData);
    this.stream.pause();
    const dropped = this.buffer.length;
    this.buffer = EMPTY;
    return dropped;
  }

  private async pump(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    this.stream.pause();
    try {
      for (;;) {
        if (this.stopped) return;
        const event = this.next();
        if (event === undefined) break;
        if (event === OVERFLOW) await this.options.onOverflow();
        else await this.options.onLine(event);
      }
    } catch (error) {
      this.stop();
      if (this.options.onError) this.options.onError(error);
      else this.stream.destroy(error instanceof Error ? error : new Error(String(error)));
      return;
    } finally {
      this.busy = false;
    }
    if (!this.stopped) this.stream.resume();
  }

  /** The next complete line, an overflow, or undefined when more input is needed. */
  private next(): string | typeof OVERFLOW | undefined {
    const max = this.options.maxLineLength;
    if (this.discarding) {
      const nl = this.buffer.indexOf(LF);
      if (nl < 0) {
        this.buffer = EMPTY;
        return undefined;
      }
      this.buffer = this.buffer.subarray(nl + 1);
      this.discarding = false;
    }
    const nl = this.buffer.indexOf(LF);
    if (nl < 0) {
      // A trailing CR may still be part of a CRLF: allow one byte beyond the cap.
      if (this.buffer.length > max + 1) {
        this.buffer = EMPTY;
        this.discarding = true;
        return OVERFLOW;
      }
      return undefined;
    }
    let end = nl;
    if (end > 0 && this.buffer[end - 1] === CR) end -= 1;
    const line = end > max ? OVERFLOW : this.buffer.toString(this.options.encoding ?? 'utf8', 0, end);
    this.buffer = this.buffer.subarray(nl + 1);
    return line;
  }
}

const OVERFLOW = Symbol('overflow');
