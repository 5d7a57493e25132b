/** RETR msg (RFC 1939 5): the whole message, streamed from the store. */
import { replies, type Reply } from '../replies.js';
import { transaction, type CommandContext } from './context.js';
import { lookupMessage } from './message-number.js';

export function retr(ctx: CommandContext, args: readonly string[]): Reply {
  const tx = transaction(ctx);
  const found = lookupMessage(tx, args[0] ?? '');
  if (!found.ok) return found.reply;
  const { message, number } = found;
  ctx.counters.inc('messagesRetrieved');
  ctx.counters.inc('bytesOut', message.size);
  tx.retrieved.messages += 1;
  tx.retrieved.bytes += message.size;
  return {
    kind: 'body',
    text: `+OK ${replies.retr(message.size)}`,
    open: () => tx.maildrop.openBody(message),
    gone: replies.messageGone(number),
  };
}
