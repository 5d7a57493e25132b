/** APOP name digest (RFC 1939 7): MD5 of the greeting timestamp and the shared secret. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { replies, type Reply } from '../replies.js';
import type { CommandContext } from './context.js';

export async function apop(ctx: CommandContext, args: readonly string[]): Promise<Reply> {
  const [name = '', digest = ''] = args;
  ctx.setPendingUser(undefined);
  if (!/^[0-9a-fA-F]{32}$/.test(digest)) return replies.authFailed();
  return ctx.login({
    user: name,
    mechanism: 'APOP',
    verify: async (user) => {
      const entry = await ctx.backing.apopSecret(user);
      if (entry === undefined) return undefined;
      const expected = createHash('md5').update(ctx.timestamp + entry.secret).digest();
      return timingSafeEqual(expected, Buffer.from(digest, 'hex')) ? entry.user : undefined;
    },
  });
}
