/**
 * The suite's TLS material: the configured certificate and key files, or one self-signed pair
 * generated into DATA/tls/self-signed/ at first start and reused afterwards by every service.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createFile, syncFolder } from '@hearth/durable';
import { TlsMaterialError } from './errors.js';
import { generateSelfSigned } from './self-signed.js';

export interface TlsMaterialOptions {
  /** The suite's data dir; a generated pair lives in DATA/tls/self-signed/. */
  readonly dataDir: string;
  /** Configured certificate (chain) file, PEM. Requires `key`. */
  readonly cert?: string | undefined;
  /** Configured private key file, PEM. Requires `cert`. */
  readonly key?: string | undefined;
  /** Extra DNS names for a generated certificate (e.g. the mail domains). */
  readonly hostnames?: readonly string[] | undefined;
}

export interface TlsMaterial {
  /** PEM certificate (chain). */
  readonly cert: string;
  /** PEM private key. */
  readonly key: string;
  readonly source: 'configured' | 'generated';
  readonly certFile: string;
  readonly keyFile: string;
  /** The leaf certificate's expiry. */
  readonly validTo: Date;
}

/** Where the generated pair lives (clients use the certificate as their CA file). */
export function generatedTlsPaths(dataDir: string): { dir: string; certFile: string; keyFile: string } {
  const dir = join(dataDir, 'tls', 'self-signed');
  return { dir, certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') };
}

/** A generated certificate this close to its expiry is replaced at the next start. */
const RENEW_BEFORE_MS = 30 * 24 * 60 * 60 * 1000;

export async function loadTlsMaterial(options: TlsMaterialOptions): Promise<TlsMaterial> {
  const { cert, key } = options;
  if (cert !== undefined || key !== undefined) {
    if (cert === undefined || key === undefined) {
      throw new TlsMaterialError(
        `tls: ${cert === undefined ? 'key' : 'cert'} is configured without ${cert === undefined ? 'cert' : 'key'}: configure both files or neither`,
      );
    }
    return { ...(await readPair(cert, key)), source: 'configured' };
  }
  return loadGenerated(options);
}

async function loadGenerated(options: TlsMaterialOptions): Promise<TlsMaterial> {
  const paths = generatedTlsPaths(options.dataDir);
  const existing = await readPair(paths.certFile, paths.keyFile).catch((error: unknown) => {
    if (error instanceof TlsMaterialError && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
      return undefined;
    }
    throw error;
  });
  if (existing && existing.validTo.getTime() - Date.now() > RENEW_BEFORE_MS) return { ...existing, source: 'generated' };

  // Generate into a private directory, then rename it into place: two services starting at once
  // cannot mix one's key with the other's certificate; the loser reads the winner's pair.
  const tlsDir = join(options.dataDir, 'tls');
  await mkdir(tlsDir, { recursive: true, mode: 0o700 });
  const staging = join(tlsDir, `.new-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(staging, { mode: 0o700 });
  const retired = join(tlsDir, `.old-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const pair = await generateSelfSigned(suiteNames(options.hostnames ?? []));
    await createFile(join(staging, 'key.pem'), pair.key, 0o600);
    await createFile(join(staging, 'cert.pem'), pair.cert, 0o644);
    if (existing) await rename(paths.dir, retired).catch(() => undefined);
    await rename(staging, paths.dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(retired, { recursive: true, force: true });
  }
  await syncFolder(tlsDir);
  return { ...(await readPair(paths.certFile, paths.keyFile)), source: 'generated' };
}

/** localhost, the loopback addresses, the host name and any extra names. */
export function suiteNames(extra: readonly string[]): { dns: string[]; ips: string[] } {
  const dns = new Set(['localhost']);
  const host = hostname().toLowerCase();
  if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(host)) dns.add(host);
  for (const name of extra) dns.add(name.toLowerCase());
  return { dns: [...dns], ips: ['127.0.0.1', '::1'] };
}

async function readPair(certFile: string, keyFile: string): Promise<Omit<TlsMaterial, 'source'>> {
  const cert = await readPem(certFile, 'certificate');
  const key = await readPem(keyFile, 'private key');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (error) {
    throw new TlsMaterialError(`tls: ${certFile} is not a valid PEM certificate: ${(error as Error).message}`, certFile, { cause: error });
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(key);
  } catch (error) {
    throw new TlsMaterialError(`tls: ${keyFile} is not a valid PEM private key: ${(error as Error).message}`, keyFile, { cause: error });
  }
  if (!leaf.checkPrivateKey(keyObject)) {
    throw new TlsMaterialError(`tls: the key in ${keyFile} does not belong to the certificate in ${certFile}`, keyFile);
  }
  return { cert, key, certFile, keyFile, validTo: new Date(leaf.validTo) };
}

async function readPem(file: string, what: 'certificate' | 'private key'): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : `cannot be read (${code ?? String(error)})`;
    throw new TlsMaterialError(`tls: the ${what} file ${file} ${reason}`, file, { cause: error });
  }
  const marker = what === 'certificate' ? /-----BEGIN CERTIFICATE-----/ : /-----BEGIN ((RSA |EC |ENCRYPTED )?PRIVATE KEY)-----/;
  if (!marker.test(text)) {
    throw new TlsMaterialError(`tls: ${file} holds no PEM ${what} (expected a "-----BEGIN ${what === 'certificate' ? 'CERTIFICATE' : 'PRIVATE KEY'}-----" block)`, file);
  }
  return text;
}

