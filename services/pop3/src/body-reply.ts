/**
 * A RETR or TOP reply on the session's socket: opens the body (a failure there throws, and the
 * session answers -ERR; a message another session deleted is `gone`, and the session answers the
 * reply's `gone`), streams it (body-writer.ts). Once the +OK is out no -ERR can follow:
 * a failure after it resolves `cut`, and the session closes so the client sees a truncated response.
 */
import type { Socket } from 'node:net';
import { ConnectionClosedError } from '@hearth/line-protocol';
import type { Logger } from '@hearth/log';
import { sendBody, TruncatedBodyError, type BufferPool } from './body-writer.js';
import { MessageGoneError, type BodyReader } from './maildrop.js';
import type { Reply } from './replies.js';

export async function sendBodyReply(
  socket: Socket,
  reply: Extract<Reply, { kind: 'body' }>,
  buffers: BufferPool,
  log: Logger,
  closed: () => boolean,
): Promise<'sent' | 'cut' | 'gone'> {
  let body: BodyReader;
  try {
    body = await reply.open();
  } catch (error) {
    if (error instanceof MessageGoneError) return 'gone';
    throw error;
  }
  if (closed()) {
    await body.close();
    return 'sent';
  }
  const options = reply.bodyLines === undefined ? {} : { bodyLines: reply.bodyLines };
  try {
    await sendBody(socket, reply.text, body, buffers, options);
    return 'sent';
  } catch (error) {
    if (!(error instanceof TruncatedBodyError)) throw error; // nothing sent yet
    if (!(error.cause instanceof ConnectionClosedError)) log.error({ err: error.cause }, 'sending a message failed');
    return 'cut';
  }
}
