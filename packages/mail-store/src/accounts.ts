/**
 * User management and authentication: adding, changing and deleting users, password checks (with
 * a short cache of successful ones) and APOP secrets. The MailStore methods of the same names.
 */
import type { StoreCore } from './core.js';
import { MailStoreError } from './errors.js';
import type { MaildropLocks } from './locks.js';
import { normalizeUserName } from './names.js';
import { checkPassword, DEFAULT_SCRYPT_PARAMS, dummyPasswordHash, hashPassword, VerificationCache } from './passwords.js';
import type { ScryptParams } from './passwords.js';
import { UserTable, validatePassword } from './users.js';
import type { UserInfo } from './users.js';

export interface DeleteUserOptions {
  /** Also delete the messages in the user's maildrop (otherwise a non-empty maildrop is refused). */
  readonly purge?: boolean;
}

export class Accounts {
  readonly #core: StoreCore;
  readonly #users: UserTable;
  readonly #locks: MaildropLocks;
  readonly #cache: VerificationCache;
  readonly #params: ScryptParams;
  #cacheHits = 0;
  #cacheMisses = 0;

  constructor(core: StoreCore, locks: MaildropLocks, options: { passwordParams?: ScryptParams; authCacheTtlMs?: number }) {
    this.#core = core;
    this.#users = new UserTable(core.db);
    this.#locks = locks;
    this.#cache = new VerificationCache(options.authCacheTtlMs ?? 60_000);
    this.#params = options.passwordParams ?? DEFAULT_SCRYPT_PARAMS;
  }

  /** The user's row, if the (normalized) name exists. */
  find(user: string): ReturnType<UserTable['find']> {
    return this.#users.find(user);
  }

  async addUser(name: string, password: string): Promise<void> {
    const user = normalizeUserName(name);
    validatePassword(password);
    this.#core.assertOpen();
    if (this.#users.find(user)) throw new MailStoreError('USER_EXISTS', `user ${user} already exists`);
    const hash = await hashPassword(password, this.#params);
    this.#core.write('adding a user', () => this.#users.insert(user, hash, Date.now()));
  }

  async setPassword(name: string, password: string): Promise<void> {
    const user = normalizeUserName(name);
    validatePassword(password);
    this.#core.assertOpen();
    this.#users.get(user);
    const hash = await hashPassword(password, this.#params);
    this.#core.write('changing a password', () => this.#users.setPasswordHash(user, hash, Date.now()));
    this.#cache.forget(user);
  }

  async deleteUser(name: string, options: DeleteUserOptions = {}): Promise<{ purged: number }> {
    const user = normalizeUserName(name);
    const core = this.#core;
    core.assertOpen();
    const { deleted, files } = core.write('deleting a user', () =>
      core.db
        .transaction(() => {
          const row = this.#users.get(user);
          const maildrop = core.messages.getMaildrop(user);
          const count = core.messages.count(maildrop.id);
          if (count > 0 && options.purge !== true) {
            throw new MailStoreError(
              'MAILDROP_NOT_EMPTY',
              `the maildrop of ${user} holds ${count} message${count === 1 ? '' : 's'}: purge them to delete the user`,
            );
          }
          const holder = this.#locks.holder(maildrop.id);
          if (holder) {
            throw new MailStoreError('MAILDROP_LOCKED', `the maildrop of ${user} is in use by a POP3 session (pid ${holder.pid})`);
          }
          const result = core.messages.delete(maildrop.id, 'all');
          core.db.prepare('DELETE FROM mailboxes WHERE user_id = ?').run(row.id);
          core.db.prepare('DELETE FROM users WHERE id = ?').run(row.id);
          return result;
        })
        .immediate(),
    );
    this.#cache.forget(user);
    await core.bodies.remove(files);
    return { purged: deleted };
  }

  listUsers(): UserInfo[] {
    this.#core.assertOpen();
    return this.#users.list();
  }

  hasUser(name: string): boolean {
    this.#core.assertOpen();
    let user: string;
    try {
      user = normalizeUserName(name);
    } catch {
      return false;
    }
    return this.#users.find(user) !== undefined;
  }

  async verifyPassword(name: string, password: string): Promise<boolean> {
    this.#core.assertOpen();
    let user: string | undefined;
    try {
      user = normalizeUserName(name);
    } catch {
      user = undefined;
    }
    const row = user === undefined ? undefined : this.#users.find(user);
    if (!row) {
      await checkPassword(password, await dummyPasswordHash(this.#params));
      return false;
    }
    if (this.#cache.hit(row.name, password, row.password_hash)) {
      this.#cacheHits++;
      return true;
    }
    this.#cacheMisses++;
    const ok = await checkPassword(password, row.password_hash);
    if (ok) this.#cache.remember(row.name, password, row.password_hash);
    return ok;
  }

  authCacheStats(): { hits: number; misses: number } {
    return { hits: this.#cacheHits, misses: this.#cacheMisses };
  }

  setApopSecret(name: string, secret: string): void {
    const user = normalizeUserName(name);
    validatePassword(secret, 'APOP secret');
    this.#core.assertOpen();
    this.#core.write('setting an APOP secret', () => this.#users.setApopSecret(user, secret, Date.now()));
  }

  clearApopSecret(name: string): boolean {
    const user = normalizeUserName(name);
    this.#core.assertOpen();
    return this.#core.write('clearing an APOP secret', () => this.#users.clearApopSecret(user));
  }

  getApopSecret(name: string): string | undefined {
    this.#core.assertOpen();
    let user: string;
    try {
      user = normalizeUserName(name);
    } catch {
      return undefined;
    }
    return this.#users.getApopSecret(user);
  }

  /** Forgets every cached password check (on close). */
  clearCache(): void {
    this.#cache.clear();
  }
}
