/**
 * The first administrator's setup link: while no administrator can sign in (none, or every one
 * disabled) the service keeps a one-time token in DATA/admin/setup-token (0600) and logs the link; `hearth up` prints it in its
 * ready summary. Plain functions with no heavy imports, for the CLI.
 */
import { join } from 'node:path';
import { readToken } from './token-file.js';

export const setupTokenFile = (dataDir: string): string => join(dataDir, 'admin', 'setup-token');

/** Whether a saved setup token has its form (base64url, 20 characters or more). */
export const isSetupToken = (token: string): boolean => /^[A-Za-z0-9_-]{20,}$/.test(token);

/** The token waiting to be used, if any (undefined too when the file cannot be read). */
export function readSetupToken(dataDir: string): string | undefined {
  try {
    return readToken(setupTokenFile(dataDir), isSetupToken);
  } catch {
    return undefined;
  }
}

/** `https://ADDRESS:PORT/setup?token=...` for a listener (a wildcard address becomes localhost). */
export function setupLink(listener: { readonly address: string; readonly port: number }, token: string): string {
  const wildcard = listener.address === '0.0.0.0' || listener.address === '::';
  const host = wildcard ? 'localhost' : listener.address.includes(':') ? `[${listener.address}]` : listener.address;
  return `https://${host}:${listener.port}/setup?token=${encodeURIComponent(token)}`;
}
