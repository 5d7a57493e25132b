/** STAT (RFC 1939 5): count and size of the messages not marked deleted. Never reads bodies. */
import { replies, type Reply } from '../replies.js';
import { transaction, type CommandContext } from './context.js';
import { totals } from './listing.js';

export function stat(ctx: CommandContext): Reply {
  const { count, octets } = totals(transaction(ctx));
  return replies.stat(count, octets);
}
