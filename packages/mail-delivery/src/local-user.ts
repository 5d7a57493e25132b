/**
 * Which local user a name or address means, the same for every mail protocol: `alice`, or `alice@`
 * one of the suite's mail domains (lower case), in lower case. Login names (a mail client gives
 * one user name for POP3 and SMTP, often the address), SMTP recipients and XSEND recipients.
 * Undefined for an address in another domain, or an empty name.
 */
export function localUser(login: string, domains: ReadonlySet<string>): string | undefined {
  const given = login.trim();
  const at = given.lastIndexOf('@');
  if (at >= 0 && !domains.has(given.slice(at + 1).toLowerCase())) return undefined;
  const local = (at >= 0 ? given.slice(0, at) : given).toLowerCase();
  return local === '' ? undefined : local;
}
