/**
 * A logged-in session for `hearth mail`: connect, STLS when offered (certificate verified against
 * the suite's generated certificate plus the system CAs, or --cafile; --insecure skips it with a
 * warning), refuse to send a password in clear off loopback, log in.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import type { CliIo } from '../command.js';
import { MailClientError, Pop3Client, type TlsChoice } from './pop3-client.js';

export interface Target {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly dataDir: string;
  readonly cafile: string | undefined;
  readonly insecure: boolean;
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** What to trust for STLS. */
export function tlsChoice(target: Target): TlsChoice {
  if (target.insecure) return { insecure: true };
  if (target.cafile !== undefined) {
    try {
      return { ca: readFileSync(target.cafile), insecure: false };
    } catch (error) {
      throw new MailClientError(`cannot read --cafile ${target.cafile}: ${(error as Error).message}`);
    }
  }
  const generated = join(target.dataDir, 'tls', 'self-signed', 'cert.pem');
  if (existsSync(generated)) {
    return { ca: [...rootCertificates, readFileSync(generated, 'utf8')].join('\n'), insecure: false };
  }
  return { insecure: false };
}

export async function openSession(target: Target, io: CliIo): Promise<Pop3Client> {
  const client = await Pop3Client.connect(target.host, target.port);
  try {
    await client.capa();
    if (client.has('STLS')) {
      if (target.insecure) io.stderr.write('hearth mail: warning: --insecure: the server certificate is not verified\n');
      await client.startTls(tlsChoice(target));
    } else if (!isLoopbackHost(target.host) && !target.insecure) {
      throw new MailClientError(
        `${target.host}:${target.port} does not offer STLS: refusing to send the password in clear (--insecure allows it)`,
      );
    }
    await client.login(target.user, target.password);
    return client;
  } catch (error) {
    client.close();
    throw error;
  }
}
