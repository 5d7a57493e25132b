/**
 * XSEND's data mode: the lines the client sends after the go-ahead, dot-unstuffed, turned into a
 * byte stream the store reads with back-pressure (the session hands over the next line only once
 * this one is taken, so a fast client is held back by TCP). Past the size cap, or after a line
 * too long, the stream fails and the rest of the message up to the final dot is read and dropped.
 */
import { MessageTooLargeError } from './maildrop.js';

const CRLF = Buffer.from('\r\n');
const HIGH_WATER = 64 * 1024;

export class MessageLineTooLongError extends Error {
  override readonly name = 'MessageLineTooLongError';
}

export class Intake {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes of the message so far (CRLF line ends, unstuffed). */
  size = 0;
  private ended = false;
  private abandoned = false;
  private error: Error | undefined;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;

  constructor(private readonly maxSize: number) {}

  /** Why the data failed, if it did (size cap, line too long, connection gone). */
  get failure(): Error | undefined {
    return this.error;
  }

  /** One line as received (without its line end). Resolves to 'end' on the final dot. */
  async line(raw: Buffer): Promise<'more' | 'end'> {
    if (raw.length === 1 && raw[0] === 0x2e) {
      this.ended = true;
      this.notifyConsumer();
      return 'end';
    }
    const data = raw[0] === 0x2e ? raw.subarray(1) : raw;
    this.size += data.length + 2;
    if (this.abandoned || this.error !== undefined) return 'more';
    if (this.size > this.maxSize) {
      this.fail(new MessageTooLargeError(`message over ${this.maxSize} octets`));
      return 'more';
    }
    this.chunks.push(data, CRLF);
    this.buffered += data.length + 2;
    this.notifyConsumer();
    if (this.buffered >= HIGH_WATER) await new Promise<void>((resolve) => (this.wakeProducer = resolve));
    return 'more';
  }

  /** A line passed the session's line-length cap. */
  overflow(maxLineLength: number): void {
    if (this.error === undefined) this.fail(new MessageLineTooLongError(`a message line is longer than ${maxLineLength} octets`));
  }

  /** Make the reader fail (cap passed, line too long, connection gone). */
  fail(error: Error): void {
    this.error ??= error;
    this.chunks = [];
    this.buffered = 0;
    this.notifyConsumer();
    this.notifyProducer();
  }

  /** The reader is done (stored, or gave up): drop whatever else comes until the dot. */
  abandon(): void {
    this.abandoned = true;
    this.chunks = [];
    this.buffered = 0;
    this.notifyProducer();
  }

  async *body(): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        if (this.error !== undefined) throw this.error;
        if (this.chunks.length > 0) {
          const out = Buffer.concat(this.chunks);
          this.chunks = [];
          this.buffered = 0;
          this.notifyProducer();
          yield out;
          continue;
        }
        if (this.ended) return;
        await new Promise<void>((resolve) => (this.wakeConsumer = resolve));
      }
    } finally {
      this.abandon();
    }
  }

  private notifyConsumer(): void {
    const wake = this.wakeConsumer;
    this.wakeConsumer = undefined;
    wake?.();
  }

  private notifyProducer(): void {
    const wake = this.wakeProducer;
    this.wakeProducer = undefined;
    wake?.();
  }
}
