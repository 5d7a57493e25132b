/**
 * XSEND's data phase for one session: after the go-ahead, the lines the client sends are not
 * commands but the message, handed to an Intake (intake.ts) until the final dot, whose reply is
 * the one the delivery (send.ts, started by `submit`) resolves to. The session asks `active`
 * before its command guards and hands over each line, a line too long, or the end of the connection.
 */
import type { Logger } from '@hearth/log';
import { Intake } from './intake.js';
import type { Reply } from './replies.js';
import { submit, type SendDeps, type Submission } from './send.js';

export class DataPhase {
  /** The message being read, and the reply its delivery resolves to. */
  private intake: Intake | undefined;
  private reply: Promise<Reply> | undefined;

  constructor(private readonly deps: Omit<SendDeps, 'log'>) {}

  /** A message is being read: lines go to `line`, not to the command table. */
  get active(): boolean {
    return this.intake !== undefined;
  }

  /** Start reading a message (after the go-ahead is sent); `receive` delivers it as it comes. */
  begin(receive: (body: AsyncIterable<Uint8Array>) => Promise<Reply>): void {
    const intake = new Intake(this.deps.maxSize);
    this.intake = intake;
    const result = receive(intake.body()).finally(() => intake.abandon());
    result.catch(() => {}); // awaited at the final dot
    this.reply = result;
  }

  /** One line of the message; at the final dot, the delivery's reply. */
  async line(raw: string): Promise<Reply | undefined> {
    const intake = this.intake;
    if (intake === undefined) return undefined;
    if ((await intake.line(Buffer.from(raw, 'latin1'))) === 'more') return undefined;
    const result = this.reply;
    this.intake = undefined;
    this.reply = undefined;
    return result;
  }

  /** A line longer than `limit` arrived: the message fails, the rest is read up to the dot. */
  overflow(limit: number): void {
    this.intake?.overflow(limit);
  }

  /** The connection is gone: the message fails. */
  fail(error: Error): void {
    this.intake?.fail(error);
    this.intake = undefined;
  }

  /** Deliver the message being read now; its delivery may ask why the data failed, even after the dot. */
  submit(log: Logger, message: Omit<Submission, 'dataError'>): Promise<Reply> {
    const intake = this.intake;
    return submit({ ...this.deps, log }, { ...message, dataError: () => intake?.failure });
  }
}
