/**
 * The bearer token that protects `/metrics`: generated at the admin service's first start into
 * DATA/admin/metrics-token (mode 0600, in a 0700 folder) and kept there, so a Prometheus
 * `credentials_file` can point at it. `hearth admin metrics-token` prints it. Imports nothing
 * heavy: the CLI loads it (`@hearth/admin/metrics-token`).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { keepToken, readToken } from './token-file.js';

/** The admin service's folder in the data dir. */
export const ADMIN_DIR = 'admin';
export const METRICS_TOKEN_FILE = 'metrics-token';

/** DATA/admin/metrics-token. */
export function metricsTokenPath(dataDir: string): string {
  return join(dataDir, ADMIN_DIR, METRICS_TOKEN_FILE);
}

/** The saved token, or undefined when there is none yet. */
export function readMetricsToken(dataDir: string): string | undefined {
  return readToken(metricsTokenPath(dataDir), isToken);
}

/**
 * The saved token, or a new one (32 random bytes, base64url) written with mode 0600, whole or not
 * at all (`keepToken`).
 */
export function metricsToken(dataDir: string): string {
  return keepToken(metricsTokenPath(dataDir), isToken, () => randomBytes(32).toString('base64url'));
}

const isToken = (token: string): boolean => token !== '';
