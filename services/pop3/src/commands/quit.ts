/** QUIT (RFC 1939 4, 6): in AUTHORIZATION just sign off; in TRANSACTION enter UPDATE. */
import type { Reply } from '../replies.js';
import type { CommandContext } from './context.js';

export function quit(ctx: CommandContext): Promise<Reply> {
  return ctx.quit();
}
