/** RSET (RFC 1939 5): unmark every message marked deleted. */
import { replies, type Reply } from '../replies.js';
import { transaction, type CommandContext } from './context.js';
import { totals } from './listing.js';

export function rset(ctx: CommandContext): Reply {
  const tx = transaction(ctx);
  tx.deleted.clear();
  const { count, octets } = totals(tx);
  return replies.rset(count, octets);
}
