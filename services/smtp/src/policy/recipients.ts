/**
 * Recipient policy: which RCPT TO addresses a listener accepts. Policy answers with a verdict;
 * the session turns refusals into replies (a Haraka-style split of policy and protocol).
 */
import { localUser } from '@hearth/accounts';
import { unquotedAddress } from '@hearth/mail-delivery';
import type { ListenerRole } from '../config.js';
import type { UserDirectory } from '../ports.js';
import { replies, type SmtpReply } from '../replies.js';

export type RecipientVerdict = { readonly ok: true; readonly user: string } | { readonly ok: false; readonly reply: SmtpReply };

export interface RecipientContext {
  readonly role: ListenerRole;
  /** Domains whose mail is ours, lower case. */
  readonly domains: ReadonlySet<string>;
  readonly users: UserDirectory;
  /** The user `postmaster` is delivered to (settings); default: the first administrator. */
  readonly postmaster: string | undefined;
}

/**
 * `local@domain` split, lower-cased, a quoted local part unquoted (`"Alice"@x` names alice, as
 * Postfix compares it); a bare `local` (as `<postmaster>`) has no domain.
 */
export function splitAddress(address: string): { local: string; domain: string | undefined } {
  const plain = unquotedAddress(address);
  const at = plain.lastIndexOf('@');
  if (at < 0) return { local: plain.toLowerCase(), domain: undefined };
  return { local: plain.slice(0, at).toLowerCase(), domain: plain.slice(at + 1).toLowerCase() };
}

/**
 * The maildrop a local part is delivered to: its own, or for `postmaster` with no user of that
 * name, the configured postmaster's (RFC 5321 4.5.1: every domain must accept postmaster).
 */
export async function deliveryUser(local: string, users: UserDirectory, postmaster: string | undefined): Promise<string | undefined> {
  if (local === '') return undefined;
  if (await users.has(local)) return local;
  if (local !== 'postmaster') return undefined;
  const target = postmaster?.toLowerCase() ?? (await users.firstAdmin());
  return target !== undefined && (await users.has(target)) ? target : undefined;
}

/** The local users a message's recipients are delivered to, once each. */
export async function deliveryUsers(
  addresses: readonly string[],
  domains: ReadonlySet<string>,
  users: UserDirectory,
  postmaster: string | undefined,
): Promise<string[]> {
  const found = await Promise.all(
    addresses.map((address) => {
      const local = localUser(unquotedAddress(address), domains);
      return local === undefined ? undefined : deliveryUser(local, users, postmaster);
    }),
  );
  return [...new Set(found.filter((user) => user !== undefined))];
}

export async function checkRecipient(address: string, ctx: RecipientContext): Promise<RecipientVerdict> {
  const { local, domain } = splitAddress(address);
  if (domain !== undefined && !ctx.domains.has(domain)) {
    // Never an open relay: MX takes mail for our domains only; submission has no relay yet.
    return { ok: false, reply: ctx.role === 'mx' ? replies.relayDenied(address) : replies.relayNotConfigured(address) };
  }
  const user = await deliveryUser(local, ctx.users, ctx.postmaster);
  if (user === undefined) return { ok: false, reply: replies.unknownUser(address) };
  return { ok: true, user };
}
