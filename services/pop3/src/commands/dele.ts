/** DELE msg (RFC 1939 5): mark for deletion; nothing is removed before UPDATE. */
import { replies, type Reply } from '../replies.js';
import { transaction, type CommandContext } from './context.js';
import { lookupMessage } from './message-number.js';

export function dele(ctx: CommandContext, args: readonly string[]): Reply {
  const tx = transaction(ctx);
  const found = lookupMessage(tx, args[0] ?? '');
  if (!found.ok) return found.reply;
  tx.deleted.add(found.number);
  return replies.deleted(found.number);
}
