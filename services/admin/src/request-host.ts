/**
 * The host a browser reached the admin page at, from the request's `Host` header: the port taken
 * off, an IPv6 address out of its brackets, a name in lower case without a trailing dot, an
 * address in its short form. The own page gives it to the file service's steps, since it is the
 * name the user's devices use. Undefined for a header that is missing or is no host name or IP
 * address as a certificate would name it (`@hearth/tls/names`); the caller then falls back to
 * the listener's address.
 */
import { isIP } from 'node:net';
import { certificateName } from '@hearth/tls/names';

/** `name`, `1.2.3.4` or `[v6]`, then an optional `:port`. */
const HOST_HEADER = /^(?:\[([^\]]*)\]|([^:[\]]*))(?::(\d{1,5}))?$/;

export function requestHost(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = HOST_HEADER.exec(header.trim());
  if (!m) return undefined;
  const [, bracketed, plain, port] = m;
  if (port !== undefined && Number(port) > 65535) return undefined;
  // Brackets hold an IPv6 address and nothing else (RFC 3986 3.2.2).
  if (bracketed !== undefined && isIP(bracketed) !== 6) return undefined;
  const host = (bracketed ?? plain ?? '').replace(/(?<=[^.])\.$/, '');
  const name = host === '' ? undefined : certificateName(host);
  if (name === undefined) return undefined;
  return name.kind === 'dns' ? name.name : name.address;
}
