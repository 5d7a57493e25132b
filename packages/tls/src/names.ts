/**
 * The names of the suite's generated certificate, and the names a certificate covers. Every
 * service computes the list the same way from the suite settings (`suiteNames`), so which one
 * generates the certificate first does not change what it names.
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname } from 'node:os';

/** What a certificate names: DNS names (lower case) and IP addresses (IPv6 in its short form). */
export interface CertificateNames {
  readonly dns: readonly string[];
  readonly ips: readonly string[];
}

/** The suite settings the name list comes from (`SuiteSettings` of `@hearth/runtime` has them). */
export interface NameSources {
  readonly mail: { readonly domains: readonly string[] };
  readonly tls: { readonly names?: readonly string[] | undefined };
}

export interface SuiteNames extends CertificateNames {
  /**
   * The names the config asks for: `tls.names` and the mail domains, but for `localhost` and
   * the machine's host name (the default mail domains follow the host name). A generated
   * certificate that lacks one of them is replaced; one that lacks only the host name (changed
   * since) is kept, so that devices that trusted it need not trust another.
   */
  readonly asked: readonly string[];
}

const LABEL = '[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?';
const HOST_NAME = new RegExp(`^${LABEL}(\\.${LABEL})*$`);

/**
 * A host name as a certificate's DNS name takes it (letters, digits and hyphens in dot-separated
 * labels, at most 253 characters, a last label that is not all digits: `192.168.1` is a mistyped
 * address, not a name), in lower case; undefined for anything else.
 */
export function hostNameOf(value: string): string | undefined {
  const name = value.toLowerCase();
  if (name.length > 253 || !HOST_NAME.test(name) || /(^|\.)\d+$/.test(name)) return undefined;
  return name;
}

/** `value` as a certificate takes it: a DNS name, an IP address (IPv6 also in brackets), or undefined. */
export function certificateName(value: string): { kind: 'dns'; name: string } | { kind: 'ip'; address: string } | undefined {
  const bare = /^\[(.*)\]$/.exec(value)?.[1] ?? value;
  // A zone index (fe80::1%eth0) is the sender's own: no certificate names one.
  if (isIP(bare) !== 0) return bare.includes('%') ? undefined : { kind: 'ip', address: normalIp(bare) };
  const name = hostNameOf(value);
  return name === undefined ? undefined : { kind: 'dns', name };
}

/** An IP address in its usual short form (RFC 5952 for IPv6: `::1`, `fd00::10`), whatever its spelling. */
function normalIp(address: string): string {
  return isIP(address) === 6 ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
}

/**
 * The names of the suite's generated certificate: DNS `localhost`, the machine's host name and
 * `<its first label>.local` (its mDNS name, which macOS, iOS and Avahi resolve), the mail domains and
 * `tls.names`; IP `127.0.0.1`, `::1` and the addresses of `tls.names`. A mail domain that is no
 * host name is left out.
 */
export function suiteNames(sources: NameSources, host = hostname()): SuiteNames {
  const dns = new Set(['localhost']);
  const ips = new Set(['127.0.0.1', '::1']);
  const machine = hostNameOf(host);
  if (machine !== undefined) {
    dns.add(machine);
    const short = machine.split('.')[0] ?? machine;
    if (short !== 'localhost') dns.add(`${short}.local`);
  }
  const asked: string[] = [];
  const add = (value: string, askedFor: boolean): void => {
    const name = certificateName(value);
    if (name === undefined) return;
    const key = name.kind === 'dns' ? name.name : name.address;
    if (name.kind === 'dns') dns.add(key);
    else ips.add(key);
    if (askedFor && !asked.includes(key)) asked.push(key);
  };
  for (const domain of sources.mail.domains) add(domain, hostNameOf(domain) !== 'localhost' && hostNameOf(domain) !== machine);
  for (const name of sources.tls.names ?? []) add(name, true);
  return { dns: [...dns], ips: [...ips], asked };
}

/** The DNS names and IP addresses of a certificate's subject alternative names. */
export function certificateNames(cert: string | X509Certificate): CertificateNames {
  const x509 = typeof cert === 'string' ? new X509Certificate(cert) : cert;
  const dns: string[] = [];
  const ips: string[] = [];
  for (const entry of splitAltNames(x509.subjectAltName ?? '')) {
    if (entry.startsWith('DNS:')) dns.push(entry.slice(4).toLowerCase());
    else if (entry.startsWith('IP Address:')) ips.push(normalIp(entry.slice(11)));
  }
  return { dns, ips };
}

/** `subjectAltName` split at its `, ` separators (Node quotes an entry holding one). */
function splitAltNames(text: string): string[] {
  return text === '' ? [] : (text.match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? []).map((s) => s.trim());
}

/**
 * Whether a client connecting to `host` accepts `cert` by its names: an IP address must be one of
 * its IP addresses; a name one of its DNS names, `*.` matching a single left-most label as browsers
 * and curl match it. An IPv6 address may carry a zone index (`%eth0`), which no certificate names.
 */
export function certificateNamesHost(cert: string | X509Certificate, host: string): boolean {
  const x509 = typeof cert === 'string' ? new X509Certificate(cert) : cert;
  const bare = (/^\[(.*)\]$/.exec(host)?.[1] ?? host).replace(/%.*$/, '');
  if (isIP(bare) !== 0) return x509.checkIP(bare) !== undefined;
  return x509.checkHost(bare.replace(/\.$/, ''), { subject: 'never', wildcards: true, partialWildcards: false, multiLabelWildcards: false }) !== undefined;
}
