/**
 * XSEND rcpt [rcpt ...] (Hearth send extension, README "X-HEARTH-SEND"): local delivery only.
 * Every recipient is checked before the go-ahead; the message follows, dot-stuffed, ending with
 * a line holding only `.`.
 */
import { localUser } from '@hearth/accounts';
import { replies, type Reply } from '../replies.js';
import { transaction, type CommandContext } from './context.js';

export const MAX_RECIPIENTS = 100;

/** The local user `user`, `user@domain` or `<user@domain>` names when the domain is ours (`localUser`'s rule). */
function localRecipient(arg: string, domains: ReadonlySet<string>): string | undefined {
  return localUser(arg.startsWith('<') && arg.endsWith('>') ? arg.slice(1, -1) : arg, domains);
}

export async function xsend(ctx: CommandContext, args: readonly string[]): Promise<Reply> {
  transaction(ctx);
  if (args.length > MAX_RECIPIENTS) return replies.tooManyRecipients(MAX_RECIPIENTS);
  const recipients: string[] = [];
  for (const arg of args) {
    const local = localRecipient(arg, ctx.localDomains);
    if (local === undefined) return replies.relayingDenied(arg);
    const user = await ctx.backing.findUser(local);
    if (user === undefined) return replies.noSuchRecipient(arg);
    if (!recipients.includes(user)) recipients.push(user);
  }
  return { kind: 'data', text: `+OK ${replies.sendGoAhead()}`, receive: (body) => ctx.submit(recipients, body) };
}
