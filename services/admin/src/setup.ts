/**
 * The one-time setup token, in one state: `open` while no administrator can sign in (none, or
 * every one disabled: `accounts.hasAdmin()`; the token is in DATA/admin/setup-token, 0600, and
 * survives restarts of the service until used), `closed` while one can, `creating` while the
 * setup form makes one. Every look at it (the sign-in page, `/setup`) asks the accounts database
 * whether one can now (one query: another process, `hearth user admin`, `enable`, `del` or
 * `admin --off`, may have changed that): an open token is closed once one can (its file
 * removed), and a closed one opens again, with a new random token written and announced as at
 * the start, once none can, as a restart of the service would open it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Accounts } from '@hearth/accounts';
import { isSetupToken, setupTokenFile } from './setup-link.js';
import { keepToken } from './token-file.js';

export type SetupState = { readonly kind: 'open'; readonly token: string } | { readonly kind: 'creating' } | { readonly kind: 'closed' };

/** The token in `file`, or a new random one written there (whole, 0600; one another instance wrote is kept). */
const tokenIn = (file: string): string => keepToken(file, isSetupToken, () => randomBytes(24).toString('base64url'));

export class SetupToken {
  #state: SetupState;

  private constructor(
    state: SetupState,
    private readonly file: string,
    private readonly accounts: Accounts,
    private readonly announce: (token: string) => void,
  ) {
    this.#state = state;
  }

  /**
   * Opens a token when no administrator can sign in (reusing the one on disk), else removes any
   * stale one. `announce` is told of a token opened later, while the service runs (the service
   * announces the one open at its start once it listens).
   */
  static async start(dataDir: string, accounts: Accounts, announce: (token: string) => void): Promise<SetupToken> {
    const file = setupTokenFile(dataDir);
    if (accounts.hasAdmin()) {
      await rm(file, { force: true });
      return new SetupToken({ kind: 'closed' }, file, accounts, announce);
    }
    // Whole or not at all; a standby starting beside the running instance keeps the same token.
    return new SetupToken({ kind: 'open', token: tokenIn(file) }, file, accounts, announce);
  }

  /** The state as last looked at (at start, or by `current` or `accepts`). */
  get state(): SetupState {
    return this.#state;
  }

  /**
   * The state now: an open token is closed (its file removed) once an administrator can sign in;
   * a closed one opens with a new token once none can. A token that cannot be written (a full
   * disk) is thrown, the state left closed for the next look to try again.
   */
  async current(): Promise<SetupState> {
    const state = this.#state;
    if (state.kind === 'creating') return state;
    const canSignIn = this.accounts.hasAdmin();
    if (state.kind === 'open' && canSignIn) {
      this.#state = { kind: 'closed' };
      await rm(this.file, { force: true });
    } else if (state.kind === 'closed' && !canSignIn) {
      // The used token's file was removed when it closed: this one is new.
      const token = tokenIn(this.file);
      this.#state = { kind: 'open', token };
      this.announce(token);
    }
    return this.#state;
  }

  /** Whether `token` is the open one (constant time), no administrator being able to sign in now. */
  async accepts(token: string | null): Promise<boolean> {
    const state = await this.current();
    if (state.kind !== 'open' || token === null) return false;
    const a = Buffer.from(state.token);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /**
   * Uses the open token for the setup form: closes it at once (a second post of the link finds it
   * closed) and removes its file, then runs `create`, which makes the administrator. No look
   * opens a new token meanwhile, none existing until `create` has made one; if `create` fails,
   * the next look opens one.
   */
  async use(create: () => Promise<void>): Promise<void> {
    this.#state = { kind: 'creating' };
    try {
      await rm(this.file, { force: true });
      await create();
    } finally {
      this.#state = { kind: 'closed' };
    }
  }
}
