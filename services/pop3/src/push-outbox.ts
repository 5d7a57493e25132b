/**
 * The push lines of one XIDLE, written in order with back-pressure. Lines are made lazily from
 * the session's message list (append-only) as the socket drains, so a slow reader costs no more
 * memory than the list itself. Bounded: when the socket is full and more than `maxPending`
 * messages wait to be announced, the client is not reading and `onOverflow` is called.
 */
import type { Socket } from 'node:net';
import { writeWithBackpressure } from '@hearth/line-protocol';
import type { MessageInfo } from './maildrop.js';
import { replies } from './replies.js';

const BATCH = 512;

export class PushOutbox {
  /** messages[0 .. announced) need no push line (there before the wait, or pushed). */
  private announced: number;
  private flushing: Promise<void> | undefined;
  private failed = false;

  constructor(
    private readonly socket: Socket,
    private readonly messages: readonly MessageInfo[],
    private readonly maxPending: number,
    private readonly onOverflow: () => void,
    private readonly onClosed: () => void,
  ) {
    this.announced = messages.length;
  }

  /** Messages were appended to the list: push a line for each. */
  update(): void {
    if (this.failed) return;
    if (this.messages.length - this.announced > this.maxPending && this.socket.writableNeedDrain) {
      this.failed = true;
      this.onOverflow();
      return;
    }
    this.flushing ??= this.flush();
  }

  /** Resolves once every message in the list was announced (or the connection failed). */
  async drained(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
  }

  private async flush(): Promise<void> {
    try {
      while (this.announced < this.messages.length && !this.failed) {
        const end = Math.min(this.announced + BATCH, this.messages.length);
        let text = '';
        for (let i = this.announced; i < end; i++) {
          const m = this.messages[i]!;
          text += `${replies.pushLine(i + 1, m.uidl, m.size)}\r\n`;
        }
        this.announced = end;
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
