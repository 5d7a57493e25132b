/**
 * The push lines of one XIDLE, written in order with back-pressure. Bounded: when what is queued
 * here plus what the socket still buffers would pass `maxBacklog` bytes, the client is not
 * reading its notifications and `onOverflow` is called (the session closes it).
 */
import type { Socket } from 'node:net';
import { writeWithBackpressure } from '@hearth/line-protocol';

export class PushOutbox {
  private queue: string[] = [];
  private queuedBytes = 0;
  private flushing: Promise<void> | undefined;
  private failed = false;

  constructor(
    private readonly socket: Socket,
    private readonly maxBacklog: number,
    private readonly onOverflow: () => void,
    private readonly onClosed: () => void,
  ) {}

  /** Queue one line (without CRLF). False when the backlog bound was hit (onOverflow called). */
  push(line: string): boolean {
    if (this.failed) return false;
    const text = `${line}\r\n`;
    if (this.socket.writableLength + this.queuedBytes + text.length > this.maxBacklog) {
      this.failed = true;
      this.queue = [];
      this.queuedBytes = 0;
      this.onOverflow();
      return false;
    }
    this.queue.push(text);
    this.queuedBytes += text.length;
    this.flushing ??= this.flush();
    return true;
  }

  /** Resolves once every queued line was handed to the socket. */
  async drained(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.failed) {
        const batch = this.queue.splice(0, 512);
        const text = batch.join('');
        this.queuedBytes -= text.length;
        await writeWithBackpressure(this.socket, text);
      }
    } catch {
      this.failed = true;
      this.onClosed();
    } finally {
      this.flushing = undefined;
    }
  }
}
