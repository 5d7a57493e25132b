/**
 * What the login policy counts failures under: a source address and a user name, each as one key
 * (`LoginPolicy` prefixes them: `s:` source, `u:` user, `p:` the pair).
 */
import { isIPv6 } from 'node:net';

/**
 * The address as one key: IPv4-mapped IPv6 is the IPv4 address, and an IPv6 address counts as its
 * /64 (`2001:db8:0:1::/64`): one host or one site's LAN holds a whole /64 and may use any address
 * in it, so per address an attacker would have 2^64 fresh counts. Dovecot's auth penalty masks
 * IPv6 to /48; /64 is the block one customer gets, so other customers of the same provider never
 * share an attacker's count.
 */
export function sourceKey(source: string): string {
  const address = (source.startsWith('::ffff:') ? source.slice(7) : source).toLowerCase();
  return isIPv6(address) ? (ipv6Prefix64(address) ?? address) : address;
}

/** The first four groups of an IPv6 address as `a:b:c:d::/64`; undefined when it cannot be read. */
function ipv6Prefix64(address: string): string | undefined {
  let text = address.split('%')[0] ?? '';
  // An embedded IPv4 tail (64:ff9b::192.0.2.1) is two groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail, ...more] = text.split('::');
  if (more.length > 0) return undefined;
  const first = head === '' ? [] : head.split(':');
  const last = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? first : [...first, ...Array<string>(8 - first.length - last.length).fill('0'), ...last];
  if (groups.length !== 8) return undefined;
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

/** The user name as given, case-insensitive, bounded (a key, not an account lookup). */
export const userKey = (user: string): string => user.trim().toLowerCase().slice(0, 320);
