/**
 * What a reload compares of the suite's configured certificate and key (`tls: { cert, key }`):
 * their contents. A renewal writes new contents under the same paths (certbot's `live/` links,
 * an ACME client's deploy hook), and the config text stays as it was; contents that differ from
 * the last reload's (or the start's) make the reload send every Hearth service its `reload`, in
 * which each reads the files again (`@hearth/tls`). The generated self-signed pair is the
 * services' own: without configured files there is nothing to compare.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { SuiteConfig } from './config.js';

/**
 * A digest of each configured file's contents (or of why it could not be read: a file that
 * cannot be read now may be readable at the next reload), undefined when none is configured.
 */
export async function tlsFilesStamp(tls: SuiteConfig['tls']): Promise<string | undefined> {
  if (tls.cert === undefined && tls.key === undefined) return undefined;
  const stamps = await Promise.all([tls.cert, tls.key].map((file) => (file === undefined ? 'none' : fileStamp(file))));
  return stamps.join(' ');
}

async function fileStamp(file: string): Promise<string> {
  try {
    return createHash('sha256').update(await readFile(file)).digest('hex');
  } catch (err) {
    return `unreadable:${(err as NodeJS.ErrnoException).code ?? 'error'}`;
  }
}
