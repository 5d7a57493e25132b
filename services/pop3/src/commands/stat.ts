/** STAT (RFC 1939 5): count and size of the messages not marked deleted. Never reads bodies. */
import { replies, type Reply } from '../replies.js';
import { transaction, type CommandContext } from './context.js';
import { visible } from './message-number.js';

export function stat(ctx: CommandContext): Reply {
  const { entries, octets } = visible(transaction(ctx));
  return replies.stat(entries.length, octets);
}
