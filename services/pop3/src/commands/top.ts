/** TOP msg n (RFC 1939 7): the header, the blank line, and n body lines. */
import { replies, type Reply } from '../replies.js';
import { transaction, type CommandContext } from './context.js';
import { lookupMessage } from './message-number.js';

export function top(ctx: CommandContext, args: readonly string[]): Reply {
  const tx = transaction(ctx);
  const found = lookupMessage(tx, args[0] ?? '');
  if (!found.ok) return found.reply;
  const count = args[1] ?? '';
  if (!/^\d{1,9}$/.test(count)) return replies.invalidLineCount(count);
  const { message } = found;
  return {
    kind: 'body',
    text: `+OK ${replies.top()}`,
    open: () => tx.maildrop.openBody(message),
    gone: replies.messageGone(found.number),
    bodyLines: Number(count),
  };
}
