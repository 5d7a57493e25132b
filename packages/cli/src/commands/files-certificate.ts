/**
 * For `hearth files`: whether the certificate the file service presents names the host clients
 * are told to use (`hostCheck` of `connectHelp`), and what it names.
 */
import type { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { connect } from 'node:tls';
import { certificateName, certificateNames, certificateNamesHost, suiteNames } from '@hearth/tls';
import type { SuiteConfig } from '@hearth/supervisor';

/** How long the running service gets to present its certificate. */
const HANDSHAKE_TIMEOUT_MS = 3000;

/** The certificate a TLS server at `address`:`port` presents, or undefined (nothing answers TLS there). */
function presented(address: string, port: number, host: string): Promise<X509Certificate | undefined> {
  return new Promise((resolve) => {
    const bare = host.replace(/%.*$/, '');
    const socket = connect({ host: address, port, rejectUnauthorized: false, ...(isIP(bare) === 0 ? { servername: bare } : {}) });
    const done = (cert: X509Certificate | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(cert);
    };
    const timer = setTimeout(() => done(undefined), HANDSHAKE_TIMEOUT_MS);
    socket.once('secureConnect', () => done(socket.getPeerX509Certificate()));
    socket.once('error', () => done(undefined));
  });
}

/**
 * Whether the certificate names `host`, and its names (DNS names, then IP addresses): the one the
 * running service presents on its HTTPS listener (reached at `local`), else the file's (`file`:
 * the configured one or the generated one), else, for a generated certificate not made yet, the
 * names the suite will make it with. Undefined when there is none to read (a configured file
 * missing: hearth check says so).
 */
export async function certificateHostCheck(
  host: string,
  local: { readonly address: string; readonly port: number },
  certificate: { readonly kind: 'self-signed' | 'configured'; readonly file: string },
  config: SuiteConfig,
): Promise<{ named: boolean; names: string[] } | undefined> {
  const cert = (await presented(local.address, local.port, host)) ?? (await readFile(certificate.file, 'utf8').catch(() => undefined));
  if (cert !== undefined) {
    try {
      const names = certificateNames(cert);
      return { named: certificateNamesHost(cert, host), names: [...names.dns, ...names.ips] };
    } catch {
      return undefined;
    }
  }
  if (certificate.kind === 'configured') return undefined;
  const future = suiteNames({ mail: config.mail, tls: config.tls });
  const name = certificateName(host.replace(/%.*$/, ''));
  const named = name !== undefined && (name.kind === 'dns' ? future.dns.includes(name.name) : future.ips.includes(name.address));
  return { named, names: [...future.dns, ...future.ips] };
}
