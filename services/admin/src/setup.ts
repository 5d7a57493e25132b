/**
 * The one-time setup token, in one state: `open` while no administrator can sign in (none, or
 * every one disabled: `accounts.hasAdmin()`; the token is in DATA/admin/setup-token, 0600, and
 * survives restarts of the service until used), `used` once one can. While open, every look at it
 * asks the accounts database whether one can now (one query: another process, `hearth user
 * admin` or `enable`, may have made one);
 * once one does, or the setup form has made one, the file is removed and the token never opens
 * again in this process.
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
    private readonly accounts: Accounts,
  ) {
    this.#state = state;
  }

  /** Opens a token when no administrator exists (reusing the one on disk), else removes any stale one. */
  static async start(dataDir: string, accounts: Accounts): Promise<SetupToken> {
    const file = setupTokenFile(dataDir);
    if (accounts.hasAdmin()) {
      await rm(file, { force: true });
      return new SetupToken({ kind: 'used' }, file, accounts);
    }
    // Whole or not at all; a standby starting beside the running instance keeps the same token.
    const token = keepToken(file, isSetupToken, () => randomBytes(24).toString('base64url'));
    return new SetupToken({ kind: 'open', token }, file, accounts);
  }

  /** The state as last looked at (at start, or by `current` or `accepts`). */
  get state(): SetupState {
    return this.#state;
  }

  /** The state now: an open token is closed for good (its file removed) once an administrator exists. */
  async current(): Promise<SetupState> {
    if (this.#state.kind === 'open' && this.accounts.hasAdmin()) await this.use();
    return this.#state;
  }

  /** Whether `token` is the open one (constant time), no administrator existing now. */
  async accepts(token: string | null): Promise<boolean> {
    const state = await this.current();
    if (state.kind !== 'open' || token === null) return false;
    const a = Buffer.from(state.token);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Closes the token for good (an administrator now exists). */
  async use(): Promise<void> {
    this.#state = { kind: 'used' };
    await rm(this.file, { force: true });
  }
}
