/**
 * One XIDLE of one session (the waiting sub-mode of TRANSACTION): `Wait` re-reads the maildrop's
 * index when the PushHub wakes it and appends what is new to the session's message list;
 * `PushOutbox` writes the push lines in order with back-pressure, made lazily from that list as
 * the socket drains, so a slow reader costs no more memory than the list itself. Bounded: when the
 * socket is full and more than `maxPending` messages wait to be announced, the client is not
 * reading and `onOverflow` is called (the session closes it).
 */
import type { Socket } from 'node:net';
import { writeWithBackpressure } from '@hearth/line-protocol';
import type { Logger } from '@hearth/log';
import type { MessageInfo } from './maildrop.js';
import type { Waiter } from './push.js';
import { replies } from './replies.js';
import type { Transaction } from './state.js';

export interface WaitOptions {
  readonly socket: Socket;
  readonly maxPending: number;
  readonly log: Logger;
  /** The client is not reading its push lines. */
  readonly onOverflow: () => void;
  /** Writing failed: the connection is gone. */
  readonly onClosed: () => void;
}

export class Wait implements Waiter {
  private readonly outbox: PushOutbox;
  private refreshing: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly tx: Transaction,
    private readonly options: WaitOptions,
  ) {
    this.outbox = new PushOutbox(options.socket, tx.messages, options.maxPending, options.onOverflow, options.onClosed);
  }

  /** New mail may have arrived: re-read the index and push what is new, one run at a time. */
  wake(): void {
    if (this.stopped) return;
    if (this.refreshing !== undefined) {
      this.again = true;
      return;
    }
    this.refreshing = this.refresh().finally(() => (this.refreshing = undefined));
  }

  /** DONE: resolves once everything already fetched is pushed (its lines precede DONE's +OK). */
  async stop(): Promise<void> {
    this.stopped = true;
    while (this.refreshing !== undefined) await this.refreshing;
    await this.outbox.drained();
  }

  /** The session is closing: nothing more. */
  cancel(): void {
    this.stopped = true;
  }

  private async refresh(): Promise<void> {
    do {
      this.again = false;
      if (this.stopped) return;
      let fresh: readonly MessageInfo[];
      try {
        fresh = await this.tx.maildrop.refresh();
      } catch (error) {
        this.options.log.error({ err: error }, 'reading new messages failed');
        return;
      }
      // Fetched messages join the list even if DONE came meanwhile: DONE waits for this run.
      if (fresh.length === 0) continue;
      for (const message of fresh) this.tx.messages.push(message);
      this.outbox.update();
      this.options.log.debug({ count: fresh.length }, 'pushed new messages');
    } while (this.again);
  }
}

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
