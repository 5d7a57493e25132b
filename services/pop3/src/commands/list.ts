/** LIST [msg] (RFC 1939 5): scan listings. Never reads bodies. */
import { replies, type Reply } from '../replies.js';
import { transaction, type CommandContext } from './context.js';
import { totals, wholeListing } from './listing.js';
import { lookupMessage, visible } from './message-number.js';

export function list(ctx: CommandContext, args: readonly string[]): Reply {
  const tx = transaction(ctx);
  if (args[0] !== undefined) {
    const found = lookupMessage(tx, args[0]);
    return found.ok ? replies.scanLine(found.number, found.message.size) : found.reply;
  }
  const { count, octets } = totals(tx);
  const status = `+OK ${replies.listing(count, octets)}`;
  const whole = wholeListing(tx, 'list', status);
  if (whole !== undefined) return whole;
  const { entries } = visible(tx);
  return {
    kind: 'lines',
    text: status,
    lines: entries.map(({ number, message }) => `${number} ${message.size}`),
  };
}
