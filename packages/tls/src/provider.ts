/**
 * A reloadable `tls.SecureContext`. Services read `provider.context` for every new TLS session
 * (STARTTLS/STLS upgrades) or pass `provider.sniCallback` to `tls.createServer`, so a reload swaps
 * the certificate for new connections without a restart; sessions already running keep theirs.
 */
import { createSecureContext } from 'node:tls';
import type { SecureContext, SecureContextOptions } from 'node:tls';
import { loadTlsMaterial } from './material.js';
import type { TlsMaterial, TlsMaterialOptions } from './material.js';

export interface TlsContextProviderOptions extends TlsMaterialOptions {
  /** Extra context options (ciphers, ...). Default minimum version: TLS 1.2. */
  readonly contextOptions?: Omit<SecureContextOptions, 'cert' | 'key'>;
}

export interface TlsContextProvider {
  /** The current context. */
  readonly context: SecureContext;
  /** The material the current context was built from. */
  readonly material: TlsMaterial;
  /** `{ cert, key, ...contextOptions }` for `tls.createServer` or `server.setSecureContext`. */
  readonly serverOptions: SecureContextOptions;
  /** For `tls.createServer({ SNICallback })`: hands every new connection the current context. */
  readonly sniCallback: (servername: string, callback: (error: Error | null, context?: SecureContext) => void) => void;
  /** Re-reads the files (or the generated pair). On failure the old context stays and it throws. */
  reload(): Promise<TlsMaterial>;
}

export async function createTlsContextProvider(options: TlsContextProviderOptions): Promise<TlsContextProvider> {
  const build = async (): Promise<{ material: TlsMaterial; context: SecureContext; serverOptions: SecureContextOptions }> => {
    const material = await loadTlsMaterial(options);
    const serverOptions: SecureContextOptions = {
      minVersion: 'TLSv1.2',
      ...options.contextOptions,
      cert: material.cert,
      key: material.key,
    };
    return { material, context: createSecureContext(serverOptions), serverOptions };
  };
  let current = await build();
  return {
    get context() {
      return current.context;
    },
    get material() {
      return current.material;
    },
    get serverOptions() {
      return current.serverOptions;
    },
    sniCallback: (_servername, callback) => callback(null, current.context),
    async reload() {
      current = await build();
      return current.material;
    },
  };
}
