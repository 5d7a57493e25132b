/**
 * XSEND rcpt [rcpt ...] (Hearth send extension, README "X-HEARTH-SEND"): local delivery only.
 * Every recipient is checked before the go-ahead; the message follows, dot-stuffed, ending with
 * a line holding only `.`.
 */
import { replies, type Reply } from '../replies.js';
import { transaction, type CommandContext } from './context.js';

export const MAX_RECIPIENTS = 100;

/** The local part of `user`, `user@domain` or `<user@domain>` if the domain is ours. */
export function localPart(arg: string, domains: readonly string[]): string | undefined {
  const address = arg.startsWith('<') && arg.endsWith('>') ? arg.slice(1, -1) : arg;
  const at = address.lastIndexOf('@');
  if (at < 0) return address === '' ? undefined : address;
  const domain = address.slice(at + 1).toLowerCase();
  if (!domains.some((d) => d.toLowerCase() === domain)) return undefined;
  const local = address.slice(0, at);
  return local === '' ? undefined : local;
}

export async function xsend(ctx: CommandContext, args: readonly string[]): Promise<Reply> {
  transaction(ctx);
  if (args.length > MAX_RECIPIENTS) return replies.tooManyRecipients(MAX_RECIPIENTS);
  const recipients: string[] = [];
  for (const arg of args) {
    const local = localPart(arg, ctx.domains);
    if (local === undefined) return replies.relayingDenied(arg);
    const user = await ctx.backing.findUser(local);
    if (user === undefined) return replies.noSuchRecipient(arg);
    if (!recipients.includes(user)) recipients.push(user);
  }
  return { kind: 'data', text: `+OK ${replies.sendGoAhead()}`, receive: (body) => ctx.submit(recipients, body) };
}
