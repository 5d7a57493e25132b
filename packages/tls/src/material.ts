/**
 * The suite's TLS material: the configured certificate and key files, or one self-signed pair
 * generated into DATA/tls/self-signed/ at first start and reused afterwards by every service,
 * replaced when it nears its expiry or lacks a name the config asks for (`suiteNames`).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { createFile, syncFolder } from '@hearth/durable';
import { TlsMaterialError } from './errors.js';
import { certificateNamesHost, suiteNames, type SuiteNames } from './names.js';
import { generateSelfSigned } from './self-signed.js';

export interface TlsMaterialOptions {
  /** The suite's data dir; a generated pair lives in DATA/tls/self-signed/. */
  readonly dataDir: string;
  /** Configured certificate (chain) file, PEM. Requires `key`. */
  readonly cert?: string | undefined;
  /** Configured private key file, PEM. Requires `cert`. */
  readonly key?: string | undefined;
  /** The suite's mail domains: a generated certificate names them (`suiteNames`). */
  readonly mailDomains?: readonly string[] | undefined;
  /** The suite's `tls.names`: host names and IP addresses a generated certificate names. */
  readonly names?: readonly string[] | undefined;
  /** Where a generation, and a replacement that devices must be told of, is logged. */
  readonly log?: TlsLog | undefined;
}

/** The part of a pino logger the material needs. */
export interface TlsLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** The material's options from the suite settings every service is given: the same for all. */
export function suiteTlsOptions(
  suite: { readonly dataDir: string; readonly mail: { readonly domains: readonly string[] }; readonly tls: { readonly cert?: string; readonly key?: string; readonly names?: readonly string[] } },
  log?: TlsLog,
): TlsMaterialOptions {
  return { dataDir: suite.dataDir, cert: suite.tls.cert, key: suite.tls.key, mailDomains: suite.mail.domains, names: suite.tls.names, log };
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

/** A generated certificate this close to its expiry is replaced at the next start or reload. */
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

/** Why the generated pair must be made (again); undefined: the one there serves. */
type Regeneration =
  | { readonly kind: 'absent' }
  | { readonly kind: 'expiring'; readonly validTo: Date }
  | { readonly kind: 'names'; readonly missing: readonly string[] };

function regeneration(existing: Omit<TlsMaterial, 'source'> | undefined, names: SuiteNames): Regeneration | undefined {
  if (existing === undefined) return { kind: 'absent' };
  if (existing.validTo.getTime() - Date.now() <= RENEW_BEFORE_MS) return { kind: 'expiring', validTo: existing.validTo };
  const x509 = new X509Certificate(existing.cert);
  const missing = names.asked.filter((name) => !certificateNamesHost(x509, name));
  return missing.length > 0 ? { kind: 'names', missing } : undefined;
}

async function loadGenerated(options: TlsMaterialOptions): Promise<TlsMaterial> {
  const paths = generatedTlsPaths(options.dataDir);
  const names = suiteNames({ mail: { domains: options.mailDomains ?? [] }, tls: { names: options.names } });
  // Without the lock: the pair there, if it serves. A pair being replaced at this moment (its
  // folder renamed away, or its certificate read before and its key after) is read again under
  // the lock, once the replacement is done.
  const seen = await readPair(paths.certFile, paths.keyFile).catch(() => undefined);
  if (seen && regeneration(seen, names) === undefined) return { ...seen, source: 'generated' };

  const tlsDir = join(options.dataDir, 'tls');
  await mkdir(tlsDir, { recursive: true, mode: 0o700 });
  return withGenerationLock(tlsDir, async () => {
    const existing = await readPair(paths.certFile, paths.keyFile).catch((error: unknown) => {
      if (error instanceof TlsMaterialError && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
      throw error;
    });
    const reason = regeneration(existing, names);
    if (existing && reason === undefined) return { ...existing, source: 'generated' };
    // Generate into a private directory, then rename it into place, so no reader finds a key
    // without its certificate; the lock keeps two services from replacing it each their way.
    const staging = join(tlsDir, `.new-${process.pid}-${randomBytes(4).toString('hex')}`);
    const retired = join(tlsDir, `.old-${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(staging, { mode: 0o700 });
    try {
      const pair = await generateSelfSigned(names);
      await createFile(join(staging, 'key.pem'), pair.key, 0o600);
      await createFile(join(staging, 'cert.pem'), pair.cert, 0o644);
      if (existing) await rename(paths.dir, retired);
      await rename(staging, paths.dir);
    } finally {
      await rm(staging, { recursive: true, force: true });
      await rm(retired, { recursive: true, force: true });
    }
    await syncFolder(tlsDir);
    const made = await readPair(paths.certFile, paths.keyFile);
    const fields = { certFile: paths.certFile, dns: names.dns, ips: names.ips };
    if (reason?.kind === 'names') {
      options.log?.warn(
        { ...fields, missing: reason.missing },
        "replaced the suite's self-signed certificate, which lacked names the config asks for: devices that trusted the old one must trust the new one (certFile)",
      );
    } else if (reason?.kind === 'expiring') {
      options.log?.warn(
        { ...fields, oldValidTo: reason.validTo.toISOString() },
        "replaced the suite's self-signed certificate near its expiry: devices that trusted the old one must trust the new one (certFile)",
      );
    } else {
      options.log?.info(fields, "generated the suite's self-signed certificate: devices trust it as their CA file (certFile)");
    }
    return { ...made, source: 'generated' };
  });
}

/** A generation lock older than this is taken over, whoever holds it (a holder that hangs). */
const STALE_LOCK_MS = 60_000;
const LOCK_POLL_MS = 50;

/** Whether the process `pid` runs (one of another user's answers EPERM: it runs). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the lock at `lock` was left behind: its holder (the pid in `lock/pid`) no longer runs,
 * or it is older than STALE_LOCK_MS. A lock without its pid yet is being taken: not left.
 */
async function leftBehind(lock: string): Promise<boolean> {
  const since = await stat(lock).then((s) => s.mtimeMs, () => undefined);
  if (since === undefined) return false;
  if (Date.now() - since > STALE_LOCK_MS) return true;
  const pid = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => ''));
  return Number.isSafeInteger(pid) && pid > 0 && !running(pid);
}

/**
 * Runs `work` holding DATA/tls/.generating (a folder: `mkdir` makes it or fails, atomically, with
 * the holder's pid in it), so one service at a time generates or replaces the pair while the
 * others wait to read it. A lock whose holder died (killed while generating) is taken over at
 * once; one held longer than STALE_LOCK_MS, whoever holds it.
 */
async function withGenerationLock<T>(tlsDir: string, work: () => Promise<T>): Promise<T> {
  const lock = join(tlsDir, '.generating');
  for (;;) {
    try {
      await mkdir(lock, { mode: 0o700 });
      await writeFile(join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (await leftBehind(lock)) await rm(lock, { recursive: true, force: true });
      else await delay(LOCK_POLL_MS);
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
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

