/** XIDLE (Hearth push extension, README "X-HEARTH-PUSH"): wait for new mail until DONE. */
import { replies, type Reply } from '../replies.js';
import { transaction, type CommandContext } from './context.js';

export function xidle(ctx: CommandContext): Reply {
  transaction(ctx);
  return replies.waitBegin();
}
