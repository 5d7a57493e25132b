/**
 * DATA: stream the message into the store under the size cap, after our trace headers, for every
 * local recipient in one delivery, then announce it. The 250 goes out only once the store has
 * committed; any failure before that is a 4xx (or smtp-server's 552 for size) and nothing is
 * stored.
 */
import type { Readable } from 'node:stream';
import type { Logger } from '@hearth/log';
import type { MessageBus } from '@hearth/runtime';
import type { SMTPServerSession } from 'smtp-server';
import { announceDelivered, completeHeaders, traceHeaders, type HearthNotice } from '@hearth/mail-delivery';
import { deliveryUsers } from './policy/recipients.js';
import { isStorageFull, type MailSink, type UserDirectory } from './ports.js';
import { replies } from './replies.js';

/** The topic and payload biff and POP3 consume. */

export interface IntakeDeps {
  readonly sink: MailSink;
  readonly bus: MessageBus;
  readonly hostname: string;
  readonly domains: ReadonlySet<string>;
  readonly users: UserDirectory;
  /** Who receives `postmaster`'s mail (settings); default: the first administrator. */
  readonly postmaster: string | undefined;
  readonly maxMessageSize: number;
}

class TooLarge extends Error {
  override readonly name = 'TooLarge';
}

/** What happened to the DATA stream while the store read it. */
interface Reading {
  size: number;
  oversized: boolean;
  /** The stream failed (client gone, session closed) before its end. */
  broken: boolean;
}

/**
 * The DATA stream as the store reads it: chunk by chunk (smtp-server reads the socket only as
 * fast as the store writes), throwing once past `max` so the store drops what it wrote.
 */
async function* capped(stream: Readable, max: number, reading: Reading): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      reading.size += chunk.length;
      if (reading.size > max) {
        reading.oversized = true;
        throw new TooLarge(`message over ${max} bytes`);
      }
      yield chunk;
    }
  } catch (err) {
    if (!(err instanceof TooLarge)) reading.broken = true;
    throw err;
  }
}

/** Read and drop the rest of the message, so that the reply follows the client's final dot. */
async function drain(stream: Readable, reading: Reading): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) reading.size += chunk.length;
  } catch {
    reading.broken = true;
  }
}

/** Store and announce one message; resolves to the 250 text, rejects with the reply to send. */
export async function receiveMessage(
  stream: Readable,
  session: SMTPServerSession,
  deps: IntakeDeps,
  log: Logger,
): Promise<string> {
  const addresses = session.envelope.rcptTo.map((r) => r.address);
  const recipients = await deliveryUsers(addresses, deps.domains, deps.users, deps.postmaster);
  const id = `${session.id}.${session.transaction}`;
  const mailFrom = session.envelope.mailFrom;
  const date = new Date();
  const prefix = traceHeaders({
    helo: session.hostNameAppearsAs || '',
    remoteAddress: session.remoteAddress,
    by: deps.hostname,
    protocol: session.transmissionType,
    id,
    sender: mailFrom ? mailFrom.address : '',
    recipients: addresses,
    date,
  });

  const reading: Reading = { size: 0, oversized: false, broken: false };
  let copies: readonly HearthNotice[];
  try {
    const data = capped(stream, deps.maxMessageSize, reading);
    // A user's own submission gets the Date, Message-ID and From it lacks; mail from elsewhere is
    // stored as it came (the size cap counts the message as the client sent it).
    const sender = mailFrom ? mailFrom.address : '';
    const body = session.user ? completeHeaders(data, { date, host: deps.hostname, ...(sender !== '' ? { from: sender } : {}) }) : data;
    copies = await deps.sink.deliver({ recipients, prefix, body });
  } catch (err) {
    await drain(stream, reading);
    if (reading.oversized) {
      // smtp-server answers 552 itself (rejectOversized), whatever we say: the rejection is for the
      // caller, which counts the message refused.
      log.warn({ size: reading.size, max: deps.maxMessageSize }, 'message over the size limit refused');
      throw replies.tooLarge(deps.maxMessageSize);
    }
    if (reading.broken) {
      log.info('message not received in full, nothing stored');
      throw replies.aborted();
    }
    log.error({ err, recipients: recipients.length }, 'store refused the message');
    throw isStorageFull(err) ? replies.storeFull() : replies.storeFailed();
  }

  // Committed: from here on the answer is 250 whatever happens to the announcement.
  announceDelivered(deps.bus, log, copies);
  // The envelope, as Postfix logs from=<...> and to=<...>: who sent what to whom, from the log alone.
  log.info({ id, from: mailFrom ? mailFrom.address : '', to: addresses, size: copies[0]?.size, recipients: copies.length }, 'message delivered');
  return replies.accepted(id);
}
