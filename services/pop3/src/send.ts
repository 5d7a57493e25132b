/**
 * XSEND's delivery: trace headers, the Date, Message-ID and From the message lacks, the store's
 * all-or-nothing `deliver` under the size cap, then `mail.delivered` for the copies exactly as the
 * SMTP service announces them (one call, batched). Returns the reply.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '@hearth/log';
import { MessageLineTooLongError } from './intake.js';
import { MessageTooLargeError, PermanentBackingError, type MailBacking } from './maildrop.js';
import type { PushHub } from './push.js';
import { replies, type Reply } from './replies.js';
import { completeHeaders, MAX_COMPLETION_BYTES, traceHeaders } from '@hearth/mail-delivery';
import type { CounterSet } from '@hearth/metrics';
import type { counters } from './counters.js';

export interface SendDeps {
  readonly backing: MailBacking;
  readonly hub: PushHub;
  readonly log: Logger;
  /** Our host name (the `by` of Received). */
  readonly hostname: string;
  /** The first local mail domain: the sender's address is `user@domain`. */
  readonly domain: string;
  readonly maxSize: number;
  /** The server's counters (`messagesSent`). */
  readonly counters: CounterSet<typeof counters>;
}

export interface Submission {
  readonly user: string;
  readonly remoteAddress: string;
  readonly secure: boolean;
  readonly recipients: readonly string[];
  readonly body: AsyncIterable<Uint8Array>;
  /** Why the client's data failed (cap, long line, gone), if it did: the store may wrap it. */
  readonly dataError: () => Error | undefined;
}

export async function submit(deps: SendDeps, message: Submission): Promise<Reply> {
  const id = randomBytes(6).toString('hex');
  const date = new Date();
  const sender = `${message.user}@${deps.domain}`;
  const prefix = traceHeaders({
    helo: message.user,
    remoteAddress: message.remoteAddress,
    by: deps.hostname,
    protocol: message.secure ? 'POP3S' : 'POP3',
    id,
    sender,
    recipients: message.recipients,
    date,
  });
  let copies;
  try {
    // The cap counts the message as the client sent it; the trace headers and the Date,
    // Message-ID and From it lacks (a submission server adds them) come on top.
    copies = await deps.backing.deliver({
      recipients: message.recipients,
      prefix,
      body: completeHeaders(message.body, { date, host: deps.hostname, from: sender }),
      maxSize: deps.maxSize + Buffer.byteLength(prefix) + MAX_COMPLETION_BYTES,
    });
  } catch (thrown) {
    const error = message.dataError() ?? thrown;
    if (error instanceof MessageTooLargeError) {
      deps.log.warn({ max: deps.maxSize }, 'XSEND message over the size limit refused');
      return replies.sendTooLarge(deps.maxSize);
    }
    if (error instanceof MessageLineTooLongError) return replies.sendLineTooLong();
    if (error instanceof PermanentBackingError) {
      deps.log.error({ err: error }, 'store refused the message');
      return replies.permanentError();
    }
    throw error;
  }
  deps.counters.inc('messagesSent');
  deps.hub.delivered(copies);
  deps.log.info({ id, size: copies[0]?.size, recipients: copies.length }, 'message delivered');
  return replies.sent(id, copies.length);
}
