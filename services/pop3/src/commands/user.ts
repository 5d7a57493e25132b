/** USER name (RFC 1939 7). The answer does not reveal whether the user exists. */
import { replies, type Reply } from '../replies.js';
import type { CommandContext } from './context.js';

export function user(ctx: CommandContext, args: readonly string[]): Reply {
  if (!ctx.plaintextAllowed) return replies.plaintextRefused();
  ctx.setPendingUser(args[0]);
  return replies.userAccepted();
}
