/**
 * A reloadable `tls.SecureContext`. Services read `provider.context` for every new TLS session
 * (STARTTLS/STLS upgrades) or pass `provider.sniCallback` to `tls.createServer`, so a reload swaps
 * the certificate for new connections without a restart; sessions already running keep theirs.
 * A server given `serverOptions` at its creation is given them again after a reload
 * (`server.setSecureContext`): that context answers the clients that send no server name (SNI),
 * which never reach the callback.
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
  /**
   * Reads the files again (or the generated pair), from `options` when given (a reload of the
   * suite's config may name other files), else from the last options that loaded. On failure the
   * old context and options stay and it throws.
   */
  reload(options?: TlsContextProviderOptions): Promise<TlsMaterial>;
}

export async function createTlsContextProvider(initial: TlsContextProviderOptions): Promise<TlsContextProvider> {
  const build = async (from: TlsContextProviderOptions): Promise<{ material: TlsMaterial; context: SecureContext; serverOptions: SecureContextOptions }> => {
    const material = await loadTlsMaterial(from);
    const serverOptions: SecureContextOptions = {
      minVersion: 'TLSv1.2',
      ...from.contextOptions,
      cert: material.cert,
      key: material.key,
    };
    return { material, context: createSecureContext(serverOptions), serverOptions };
  };
  let options = initial;
  let current = await build(options);
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
    async reload(next = options) {
      current = await build(next);
      options = next;
      return current.material;
    },
  };
}
