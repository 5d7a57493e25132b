/**
 * A logged-in session for `hearth mail`: connect, with TLS at once on an implicit-TLS listener
 * (POP3S), else STLS when offered (the certificate verified either way against the suite's
 * generated certificate plus the system CAs, or --cafile; --insecure skips it with a warning),
 * refuse to send a password in clear off loopback, log in.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import type { CliIo } from '../command.js';
import { ConnectError, MailClientError, Pop3Client, type TlsChoice } from './pop3-client.js';

/** Where `hearth mail` connects, and how. */
export interface Pop3Address {
  readonly host: string;
  readonly port: number;
  /** `implicit`: TLS from the first byte (a POP3S listener); `stls`: plain, upgraded by STLS when offered. */
  readonly tls: 'implicit' | 'stls';
  /**
   * Why this is the default 127.0.0.1:2110 rather than a listener of the running suite (no suite
   * runs on the data dir, it has no pop3 service, ...); said only when the connection fails.
   * Undefined for a listener of the running suite or an address given with --host/--port.
   */
  readonly defaultBecause: string | undefined;
}

export interface Target extends Pop3Address {
  readonly user: string;
  readonly password: string;
  readonly dataDir: string;
  readonly cafile: string | undefined;
  readonly insecure: boolean;
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** What to trust for TLS (STLS or implicit). */
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

/**
 * Connects and logs in. `explainDefault`: when the connection to the default address fails, say
 * on stderr why the default was tried (`watch` says it at its first attempt only).
 */
export async function openSession(target: Target, io: CliIo, explainDefault = true): Promise<Pop3Client> {
  const implicit = target.tls === 'implicit';
  if (implicit && target.insecure) io.stderr.write('hearth mail: warning: --insecure: the server certificate is not verified\n');
  let client: Pop3Client;
  try {
    client = await Pop3Client.connect(target.host, target.port, implicit ? tlsChoice(target) : undefined);
  } catch (error) {
    if (error instanceof ConnectError && explainDefault && target.defaultBecause !== undefined) {
      io.stderr.write(`hearth mail: note: ${target.defaultBecause}, so the default ${target.host}:${target.port} was tried (--port PORT names another)\n`);
    }
    throw error;
  }
  try {
    await client.capa();
    // Over implicit TLS the session is secure already.
    if (!implicit && client.has('STLS')) {
      if (target.insecure) io.stderr.write('hearth mail: warning: --insecure: the server certificate is not verified\n');
      await client.startTls(tlsChoice(target));
    } else if (!implicit && !isLoopbackHost(target.host) && !target.insecure) {
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
