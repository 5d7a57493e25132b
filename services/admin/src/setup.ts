/**
 * The one-time setup token, in one state: `open` while no account is an administrator (the token
 * is in DATA/admin/setup-token, 0600, and survives restarts of the service until used), `used`
 * once an administrator exists. Using it removes the file; it never opens again in this process.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Accounts } from '@hearth/accounts';
import { isSetupToken, setupTokenFile } from './setup-link.js';
import { keepToken } from './token-file.js';

export type SetupState = { readonly kind: 'open'; readonly token: string } | { readonly kind: 'used' };

export class SetupToken {
  #state: SetupState;

  private constructor(
    state: SetupState,
    private readonly file: string,
  ) {
    this.#state = state;
  }

  /** Opens a token when no administrator exists (reusing the one on disk), else removes any stale one. */
  static async start(dataDir: string, accounts: Accounts): Promise<SetupToken> {
    const file = setupTokenFile(dataDir);
    if (accounts.list().some((a) => a.admin)) {
      await rm(file, { force: true });
      return new SetupToken({ kind: 'used' }, file);
    }
    // Whole or not at all; a standby starting beside the running instance keeps the same token.
    const token = keepToken(file, isSetupToken, () => randomBytes(24).toString('base64url'));
    return new SetupToken({ kind: 'open', token }, file);
  }

  get state(): SetupState {
    return this.#state;
  }

  /** Whether `token` is the open one (constant time). */
  matches(token: string | null): boolean {
    if (this.#state.kind !== 'open' || token === null) return false;
    const a = Buffer.from(this.#state.token);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Closes the token for good (an administrator now exists). */
  async use(): Promise<void> {
    this.#state = { kind: 'used' };
    await rm(this.file, { force: true });
  }
}
