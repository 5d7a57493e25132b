/** UIDL [msg] (RFC 1939 7): unique-id listings. */
import { replies, type Reply } from '../replies.js';
import { transaction, type CommandContext } from './context.js';
import { wholeListing } from './listing.js';
import { lookupMessage, visible } from './message-number.js';

export function uidl(ctx: CommandContext, args: readonly string[]): Reply {
  const tx = transaction(ctx);
  if (args[0] !== undefined) {
    const found = lookupMessage(tx, args[0]);
    return found.ok ? replies.uidlLine(found.number, found.message.uidl) : found.reply;
  }
  const status = `+OK ${replies.uidlList()}`;
  const whole = wholeListing(tx, 'uidl', status);
  if (whole !== undefined) return whole;
  return {
    kind: 'lines',
    text: status,
    lines: visible(tx).entries.map(({ number, message }) => `${number} ${message.uidl}`),
  };
}
