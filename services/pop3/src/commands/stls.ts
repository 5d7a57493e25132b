/** STLS (RFC 2595): only in AUTHORIZATION, only once, only with a certificate. */
import { replies, type Reply } from '../replies.js';
import type { CommandContext } from './context.js';

export function stls(ctx: CommandContext): Reply {
  if (ctx.secure) return replies.stlsActive();
  if (!ctx.canStartTls) return replies.stlsUnavailable();
  return replies.stlsBegin();
}
