/** APOP name digest (RFC 1939 7): MD5 of the greeting timestamp and the shared secret. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Authentication } from '@hearth/accounts';
import { replies, type Reply } from '../replies.js';
import type { CommandContext } from './context.js';

const REJECTED: Authentication = { kind: 'rejected' };

export async function apop(ctx: CommandContext, args: readonly string[]): Promise<Reply> {
  const [name = '', digest = ''] = args;
  ctx.setPendingUser(undefined);
  if (!/^[0-9a-fA-F]{32}$/.test(digest)) return replies.authFailed();
  return ctx.login({
    user: name,
    mechanism: 'APOP',
    verify: async (user) => {
      const entry = await ctx.backing.apopSecret(user);
      if (entry === undefined) return REJECTED;
      const expected = createHash('md5').update(ctx.timestamp + entry.secret).digest();
      if (!timingSafeEqual(expected, Buffer.from(digest, 'hex'))) return REJECTED;
      return entry.disabled === undefined ? { kind: 'accepted', user: entry.user } : { kind: 'disabled', user: entry.user, reason: entry.disabled.reason };
    },
  });
}
