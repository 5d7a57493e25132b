/** CAPA (RFC 2449): what this session offers now. */
import { replies, type Reply } from '../replies.js';
import { MECHANISMS } from './auth.js';
import type { CommandContext } from './context.js';

export function capa(ctx: CommandContext): Reply {
  const lines = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING'];
  if (ctx.state.name === 'AUTHORIZATION') {
    if (ctx.plaintextAllowed) lines.push('USER', `SASL ${MECHANISMS.join(' ')}`);
    if (ctx.canStartTls) lines.push('STLS');
  }
  // Hearth's extensions (README): valid in TRANSACTION, listed in both states as RFC 2449 allows.
  lines.push('X-HEARTH-PUSH', `X-HEARTH-SEND ${ctx.settings.maxSendSize}`);
  lines.push('IMPLEMENTATION Hearth');
  return { kind: 'lines', text: `+OK ${replies.capa()}`, lines };
}
