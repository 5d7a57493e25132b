/**
 * The bearer token that protects `/metrics`: generated at the admin service's first start into
 * DATA/admin/metrics-token (mode 0600, in a 0700 folder) and kept there, so a Prometheus
 * `credentials_file` can point at it. `hearth admin metrics-token` prints it. Imports nothing
 * heavy: the CLI loads it (`@hearth/admin/metrics-token`).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The admin service's folder in the data dir. */
export const ADMIN_DIR = 'admin';
export const METRICS_TOKEN_FILE = 'metrics-token';

/** DATA/admin/metrics-token. */
export function metricsTokenPath(dataDir: string): string {
  return join(dataDir, ADMIN_DIR, METRICS_TOKEN_FILE);
}

/** The saved token, or undefined when there is none yet. */
export function readMetricsToken(dataDir: string): string | undefined {
  try {
    const token = readFileSync(metricsTokenPath(dataDir), 'utf8').trim();
    return token === '' ? undefined : token;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The saved token, or a new one (32 random bytes, base64url) written with mode 0600. The file
 * appears whole or not at all: the token is written to a temporary, which is then linked to the
 * name (two instances starting together, a standby and the running one, keep the first token).
 * An empty file (a write cut short by a full disk before this version) is replaced. A failure
 * (a full disk) leaves nothing behind and names the file.
 */
export function metricsToken(dataDir: string): string {
  const saved = readMetricsToken(dataDir);
  if (saved !== undefined) return saved;
  const dir = join(dataDir, ADMIN_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('base64url');
  const path = metricsTokenPath(dataDir);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${token}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    try {
      linkSync(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const other = readMetricsToken(dataDir);
      if (other !== undefined) return other;
      renameSync(tmp, path);
    }
    return token;
  } catch (err) {
    throw new Error(`cannot write ${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    rmSync(tmp, { force: true });
  }
}
