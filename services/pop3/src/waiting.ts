/**
 * One XIDLE of one session (the waiting sub-mode of TRANSACTION): `Wait` appends what is new to
 * the session's message list when the PushHub wakes it: straight from the notice when that names
 * the very next message (no index read: what makes a fan-out to thousands of sessions cheap), else
 * by re-reading the maildrop's index. The wait ends with one more index read (reconcile), so a
 * notice that never came costs a late push line, never a message missed for good;
 * `PushOutbox` writes the push lines in order with back-pressure, made lazily from that list as
 * the socket drains, so a slow reader costs no more memory than the list itself. Bounded: when the
 * socket is full and more than `maxPending` messages wait to be announced, the client is not
 * reading and `onOverflow` is called (the session closes it). The session's `checkCredentials`
 * runs before each push and every `credentialCheckMs` while waiting: a password set, or the
 * account disabled or deleted, since the login ends the session (the session does that) and the
 * wait with it, without pushing what was found.
 */
import type { Socket } from 'node:net';
import { drained, writeWithBackpressure } from '@hearth/line-protocol';
import type { Logger } from '@hearth/log';
import type { HearthNotice } from '@hearth/mail-delivery';
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
  /** `count` push lines were written (counted: `messagesPushed`). */
  readonly onPushed: (count: number) => void;
  /**
   * The login's credentials are still the user's: true, or false once the session has ended
   * (they changed, or could not be read).
   */
  readonly checkCredentials: () => boolean;
  /** How often `checkCredentials` runs while nothing arrives. */
  readonly credentialCheckMs: number;
}

export class Wait implements Waiter {
  private readonly outbox: PushOutbox;
  private refreshing: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly credentialTimer: NodeJS.Timeout;

  constructor(
    private readonly tx: Transaction,
    private readonly options: WaitOptions,
  ) {
    this.outbox = new PushOutbox(options.socket, tx.messages, options.maxPending, options);
    this.credentialTimer = setInterval(() => this.credentialsStillValid(), options.credentialCheckMs);
    this.credentialTimer.unref();
  }

  /**
   * New mail may have arrived: push it from `notice` if the maildrop vouches for it, else
   * re-read the index and push what is new, one run at a time.
   */
  wake(notice?: HearthNotice): void {
    if (this.stopped) return;
    if (this.refreshing !== undefined) {
      this.again = true; // that run reads the index again, which covers this notice too
      return;
    }
    const known = notice === undefined ? undefined : this.tx.maildrop.fromNotice?.(notice);
    if (known !== undefined) {
      this.append(known);
      return;
    }
    this.refreshing = this.refresh().finally(() => (this.refreshing = undefined));
  }

  /**
   * DONE (or another line ending the wait): one last index read appends whatever a notice never
   * announced; resolves once everything is pushed (its lines precede DONE's +OK).
   */
  async stop(): Promise<void> {
    this.halt();
    while (this.refreshing !== undefined) await this.refreshing;
    await this.read();
    await this.outbox.drained();
  }

  /** The session is closing: nothing more. */
  cancel(): void {
    this.halt();
  }

  private halt(): void {
    this.stopped = true;
    clearInterval(this.credentialTimer);
  }

  /** False (and the wait over) once the session has ended for its credentials. */
  private credentialsStillValid(): boolean {
    if (this.options.checkCredentials()) return true;
    this.halt();
    return false;
  }

  private async refresh(): Promise<void> {
    do {
      this.again = false;
      if (this.stopped) return;
      // Fetched messages join the list even if DONE came meanwhile: DONE waits for this run.
      if (!(await this.read())) return;
    } while (this.again);
  }

  /** Read the index and append what is new; false if reading failed (logged). */
  private async read(): Promise<boolean> {
    let fresh: readonly MessageInfo[];
    try {
      fresh = await this.tx.maildrop.refresh();
    } catch (error) {
      this.options.log.error({ err: error }, 'reading new messages failed');
      return false;
    }
    this.append(fresh);
    return true;
  }

  private append(fresh: readonly MessageInfo[]): void {
    if (fresh.length === 0 || !this.credentialsStillValid()) return;
    for (const message of fresh) this.tx.messages.push(message);
    this.outbox.update();
    this.options.log.debug({ count: fresh.length }, 'pushed new messages');
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
    private readonly handlers: Pick<WaitOptions, 'onOverflow' | 'onClosed' | 'onPushed'>,
  ) {
    this.announced = messages.length;
  }

  /**
   * Messages were appended to the list: push a line for each. The common case (a few new
   * messages, a socket that takes them) is one synchronous write; only a full socket or a long
   * list takes the asynchronous path, which waits for 'drain' between batches.
   */
  update(): void {
    if (this.failed || this.checkOverflow() || this.flushing !== undefined) return;
    if (this.announced === this.messages.length) return;
    if (this.messages.length - this.announced <= BATCH && !this.socket.writableNeedDrain) {
      if (this.socket.destroyed || this.socket.writableEnded) {
        this.failed = true;
        this.handlers.onClosed();
        return;
      }
      const text = this.lines(this.messages.length);
      if (this.socket.write(text)) return;
    }
    this.flushing = this.flush();
  }

  /** The client stopped reading and too much waits: give up on it (true). */
  private checkOverflow(): boolean {
    if (this.messages.length - this.announced > this.maxPending && this.socket.writableNeedDrain) {
      this.failed = true;
      this.handlers.onOverflow();
      return true;
    }
    return false;
  }

  /** The push lines of messages[announced .. end), marked announced. */
  private lines(end: number): string {
    let text = '';
    for (let i = this.announced; i < end; i++) {
      const m = this.messages[i]!;
      text += `${replies.pushLine(i + 1, m.uidl, m.size)}\r\n`;
    }
    this.handlers.onPushed(end - this.announced);
    this.announced = end;
    return text;
  }

  /** Resolves once every message in the list was announced (or the connection failed). */
  async drained(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
  }

  private async flush(): Promise<void> {
    try {
      await drained(this.socket); // what update() wrote may still fill the socket
      while (this.announced < this.messages.length && !this.failed) {
        const text = this.lines(Math.min(this.announced + BATCH, this.messages.length));
        await writeWithBackpressure(this.socket, text);
      }
    } catch {
      this.failed = true;
      this.handlers.onClosed();
    } finally {
      this.flushing = undefined;
    }
  }
}
