/** PASS secret (RFC 1939 7): the rest of the line, spaces included. */
import { replies, type Reply } from '../replies.js';
import type { CommandContext } from './context.js';

export async function pass(ctx: CommandContext, args: readonly string[]): Promise<Reply> {
  if (!ctx.plaintextAllowed) return replies.plaintextRefused();
  const name = ctx.state.name === 'AUTHORIZATION' ? ctx.state.pendingUser : undefined;
  if (name === undefined) return replies.passWithoutUser();
  ctx.setPendingUser(undefined);
  const password = args[0] ?? '';
  return ctx.login({ user: name, mechanism: 'USER', verify: (user) => ctx.backing.authenticate(user, password), password });
}
