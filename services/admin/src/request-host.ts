/**
 * The host a browser reached the admin page at, from the request's `Host` header: the port taken
 * off, an IPv6 address out of its brackets, a name in lower case without a trailing dot, an
 * address in its short form. The own page gives it to the file service's steps, since it is the
 * name the user's devices use, when clients using it reach the file service's listener
 * (`hostReaching`). Undefined for a header that is missing or is no host name or IP address as a
 * certificate would name it (`@hearth/tls/names`); the caller then falls back to the listener's
 * address.
 */
import { isIP } from 'node:net';
import { isWildcardAddress, reachableFromOtherMachines } from '@hearth/files/connect-help';
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

/**
 * The request's host (`requestHost`) when clients that use it reach a listener on `address`, else
 * undefined. A listener on every address (`0.0.0.0`, `::`) is reached by any name, and by an
 * address of its family (`::` by both: it is dual-stack unless told otherwise); one on loopback by
 * `localhost` and by its own address; one on another address by its own address and by any name
 * but `localhost` (the user's devices resolve it; to that address, as far as can be told here).
 */
export function hostReaching(header: string | undefined, address: string): string | undefined {
  const host = requestHost(header);
  if (host === undefined) return undefined;
  return reaches(host, address) ? host : undefined;
}

function reaches(host: string, address: string): boolean {
  const family = isIP(host);
  if (family === 0) return isWildcardAddress(address) || (host === 'localhost') === !reachableFromOtherMachines(address);
  if (isWildcardAddress(address)) return address === '0.0.0.0' ? family === 4 : true;
  // The listener's address in the short form `requestHost` gives (`::1` for `0:0:0:0:0:0:0:1`).
  const own = certificateName(address);
  return own?.kind === 'ip' && own.address === host;
}
