/**
 * XSEND rcpt [rcpt ...] (Hearth send extension, README "X-HEARTH-SEND"): local delivery only.
 * Every recipient is checked before the go-ahead; the message follows, dot-stuffed, ending with
 * a line holding only `.`.
 *
 * The command table hands over the whole line after the verb: a recipient's quoted local part
 * (`"john doe"@localhost`) may hold spaces, so the line is split here, outside quotes only, and
 * each recipient looked up by its unquoted form, as SMTP's RCPT TO is.
 */
import { localUser } from '@hearth/accounts';
import { readQuotedString, unquotedAddress } from '@hearth/mail-delivery';
import { replies, type Reply } from '../replies.js';
import { transaction, type CommandContext } from './context.js';

export const MAX_RECIPIENTS = 100;

const NOT_ENDED = 'the quoted local part must be followed by @ and the domain, or end the recipient';

export type RecipientList = { readonly kind: 'recipients'; readonly recipients: readonly string[] } | { readonly kind: 'invalid'; readonly problem: string };

/**
 * XSEND's argument line as recipients, as given: split at spaces, but not inside a quoted local
 * part, which opens a recipient (or follows its `<`) and is read as `readQuotedString` reads it.
 * After its closing quote come `@` and the domain, `>`, or the recipient's end.
 */
export function splitRecipients(line: string): RecipientList {
  const recipients: string[] = [];
  let at = 0;
  while (at < line.length) {
    if (line[at] === ' ') {
      at++;
      continue;
    }
    const start = at;
    if (line[at] === '<') at++;
    if (line[at] === '"') {
      const quoted = readQuotedString(line, at);
      if (quoted.kind === 'invalid') return quoted;
      at = quoted.close + 1;
      if (at < line.length && !['@', '>', ' '].includes(line.charAt(at))) return { kind: 'invalid', problem: NOT_ENDED };
    }
    while (at < line.length && line[at] !== ' ') at++;
    recipients.push(line.slice(start, at));
  }
  return { kind: 'recipients', recipients };
}

/**
 * The local user `user`, `user@domain` or `<user@domain>` names when the domain is ours
 * (`localUser`'s rule), its local part unquoted (`"Bob"@localhost` is bob); `remote` for another
 * domain; undefined for an empty local part at ours.
 */
function localRecipient(arg: string, domains: ReadonlySet<string>): string | 'remote' | undefined {
  const address = unquotedAddress(arg.startsWith('<') && arg.endsWith('>') ? arg.slice(1, -1) : arg);
  const local = localUser(address, domains);
  if (local !== undefined) return local;
  const at = address.lastIndexOf('@');
  return at >= 0 && !domains.has(address.slice(at + 1).toLowerCase()) ? 'remote' : undefined;
}

export async function xsend(ctx: CommandContext, args: readonly string[]): Promise<Reply> {
  transaction(ctx);
  const list = splitRecipients(args[0] ?? '');
  if (list.kind === 'invalid') return replies.badRecipientSyntax(list.problem);
  if (list.recipients.length === 0) return replies.wrongArgs('XSEND');
  if (list.recipients.length > MAX_RECIPIENTS) return replies.tooManyRecipients(MAX_RECIPIENTS);
  const recipients: string[] = [];
  for (const arg of list.recipients) {
    const local = localRecipient(arg, ctx.localDomains);
    if (local === 'remote') return replies.relayingDenied(arg);
    const user = local === undefined ? undefined : await ctx.backing.findUser(local);
    if (user === undefined) return replies.noSuchRecipient(arg);
    if (!recipients.includes(user)) recipients.push(user);
  }
  return { kind: 'data', text: `+OK ${replies.sendGoAhead()}`, receive: (body) => ctx.submit(recipients, body) };
}
