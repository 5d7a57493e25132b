/**
 * The accounts database: DIR/accounts.sqlite (the suite uses DATA/accounts), SQLite in WAL mode,
 * shared by every process that authenticates users (POP3, SMTP, the CLI). Every write is one
 * short IMMEDIATE transaction; hashing runs on the thread pool, never inside a transaction.
 */
import { createHash } from 'node:crypto';
import { access, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Database as Db } from 'better-sqlite3';
import { openDatabase } from '@hearth/sqlite';
import { AccountsError, storageError } from './errors.js';
import { importLegacyAccounts } from './legacy.js';
import { canonicalName, normalizeDisableReason, normalizeGroupName, normalizeUserName, validatePassword } from './names.js';
import { checkPassword, DEFAULT_SCRYPT_PARAMS, dummyPasswordHash, hashPassword, VerificationCache } from './passwords.js';
import type { ScryptParams } from './passwords.js';
import { FailureTable } from './failure-table.js';
import { LoginPolicy, type LoginPolicyOptions } from './login-policy.js';
import { SCHEMA } from './schema.js';
import { AccountTable, disabledOf, noSuchUser } from './table.js';
import type { Account } from './table.js';

/** What `Accounts.authenticate` found: see there. */
export type Authentication =
  | { readonly kind: 'accepted'; readonly user: string }
  | { readonly kind: 'disabled'; readonly user: string; readonly reason: string | undefined }
  | { readonly kind: 'rejected' };

const REJECTED: Authentication = Object.freeze({ kind: 'rejected' });

export interface AccountsOptions {
  /** The accounts directory (the suite uses DATA/accounts); the database is DIR/accounts.sqlite. */
  readonly dir: string;
  /** Create the directory and database if missing (default true); false fails with ACCOUNTS_MISSING. */
  readonly create?: boolean;
  /**
   * A mail store database made before accounts had their own file (the suite's DATA/mail/store.db):
   * its users, hashes and APOP secrets are moved here once (see the README). It is opened even
   * with `create: false`, since then the accounts exist, only not here yet.
   */
  readonly legacyStore?: string;
  /** How long a write waits for another process's transaction (default 5000 ms). */
  readonly busyTimeoutMs?: number;
  /** scrypt cost for new hashes (default N=2^15, r=8, p=1). Existing hashes keep their own. */
  readonly passwordParams?: ScryptParams;
  /** How long a successful password check is remembered (default 60 s; 0 disables the cache). */
  readonly authCacheTtlMs?: number;
}

/** The database file under an accounts directory. */
export const accountsFile = (dir: string): string => join(dir, 'accounts.sqlite');

export class Accounts {
  readonly dir: string;
  readonly #db: Db;
  readonly #table: AccountTable;
  readonly #cache: VerificationCache;
  readonly #params: ScryptParams;
  readonly #busyTimeoutMs: number;
  readonly #policies = new Set<LoginPolicy>();
  #checks = 0;
  #cacheHits = 0;
  #cacheMisses = 0;
  #closed = false;

  /** Use `openAccounts`. */
  constructor(db: Db, options: AccountsOptions) {
    this.dir = options.dir;
    this.#db = db;
    this.#table = new AccountTable(db);
    this.#cache = new VerificationCache(options.authCacheTtlMs ?? 60_000);
    this.#params = options.passwordParams ?? DEFAULT_SCRYPT_PARAMS;
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  }

  #assertOpen(): void {
    if (this.#closed) throw new AccountsError('ACCOUNTS_CLOSED', 'the accounts database is closed');
  }

  #write<T>(doing: string, run: () => T): T {
    this.#assertOpen();
    try {
      return run();
    } catch (error) {
      throw storageError(error, doing);
    }
  }

  // ---- reading --------------------------------------------------------------------------------

  /** The account named `name` (any case), or undefined (an invalid name included). */
  find(name: string): Account | undefined {
    this.#assertOpen();
    const user = canonicalName(name);
    return user === undefined ? undefined : this.#table.find(user);
  }

  has(name: string): boolean {
    return this.find(name) !== undefined;
  }

  /** Every account, by name. */
  list(): Account[] {
    this.#assertOpen();
    return this.#table.list();
  }

  /** Whether an administrator can sign in: one that is not disabled (one query, no account read). */
  hasAdmin(): boolean {
    this.#assertOpen();
    return this.#table.hasAdmin();
  }

  /** The accounts that are in `group`. */
  members(group: string): Account[] {
    const name = normalizeGroupName(group);
    return this.list().filter((account) => account.groups.includes(name));
  }

  // ---- passwords ------------------------------------------------------------------------------

  /**
   * Whether `password` is the user's, and whether the account may log in: `accepted` (the
   * canonical name), `disabled` (the password is right, the account disabled: the services
   * refuse it as a wrong password, telling the reason if one was given) or `rejected` (a wrong
   * password, an unknown or invalid name; disabled or not, the same answer after the same work).
   * scrypt runs on the thread pool; an unknown or invalid user name costs as much as a wrong
   * password. Successful checks are remembered for `authCacheTtlMs`.
   */
  async authenticate(name: string, password: string): Promise<Authentication> {
    this.#assertOpen();
    this.#checks++;
    const user = canonicalName(name);
    const row = user === undefined ? undefined : this.#table.credentials(user);
    if (!row) {
      await checkPassword(password, await dummyPasswordHash(this.#params));
      return REJECTED;
    }
    // A disabled account's right password is never answered from the cache: it costs the scrypt
    // of a wrong one, so the time of a refusal does not tell that the password was right.
    const disabled = disabledOf(row);
    if (disabled === undefined && this.#cache.hit(row.name, password, row.password_hash)) {
      this.#cacheHits++;
      return { kind: 'accepted', user: row.name };
    }
    this.#cacheMisses++;
    if (!(await checkPassword(password, row.password_hash))) return REJECTED;
    if (disabled !== undefined) return { kind: 'disabled', user: row.name, reason: disabled.reason };
    this.#cache.remember(row.name, password, row.password_hash);
    return { kind: 'accepted', user: row.name };
  }

  /**
   * The canonical user name if `password` is the user's and the account may log in, else
   * undefined (a disabled account included): `authenticate` without telling why.
   */
  async verifyPassword(name: string, password: string): Promise<string | undefined> {
    const result = await this.authenticate(name, password);
    return result.kind === 'accepted' ? result.user : undefined;
  }

  /**
   * An opaque value that changes whenever the account's password is set (`add`, `setPassword`, from
   * any process; a new hash has a new salt, so a password set again to the same text changes it
   * too) and whenever it is disabled or enabled, and undefined when the account does not exist.
   * Something kept past a login (the admin page's session) keeps the stamp it saw and compares: a
   * password change, a disable (an enable after it never gives the old stamp back), or the
   * account deleted and made again under the same name, ends it. A digest of the stored hash and
   * of the count of disables and enables, not the hash.
   */
  credentialStamp(name: string): string | undefined {
    this.#assertOpen();
    const user = canonicalName(name);
    const row = user === undefined ? undefined : this.#table.credentials(user);
    if (row === undefined) return undefined;
    // An account never disabled keeps the stamp it had before accounts could be disabled.
    const input = row.access_changes === 0 ? row.password_hash : `${row.password_hash}\n${row.access_changes}`;
    return createHash('sha256').update(input).digest('base64url');
  }

  /** Calls of `verifyPassword` in this process (every real password check), for tests and status. */
  passwordChecks(): number {
    return this.#checks;
  }

  /** Counts of password checks answered from the cache and by scrypt, for logs and tests. */
  authCacheStats(): { hits: number; misses: number } {
    return { hits: this.#cacheHits, misses: this.#cacheMisses };
  }

  // ---- the login policy ----------------------------------------------------------------------

  /**
   * A login policy whose counts persist in this database (shared with every process that opens
   * it). Its pending writes are flushed when the accounts close.
   */
  loginPolicy(options: LoginPolicyOptions): LoginPolicy {
    this.#assertOpen();
    const table = new FailureTable(this.#db);
    const busyTimeoutMs = this.#busyTimeoutMs;
    const policy = new LoginPolicy(options, {
      get: (key) => table.get(key),
      // A write waits at most 50 ms for another process: a busy database is retried later.
      apply: (deltas, expiredBefore, maxRows) => table.apply(deltas, expiredBefore, maxRows, 50, busyTimeoutMs),
    });
    this.#policies.add(policy);
    return policy;
  }

  // ---- changing -------------------------------------------------------------------------------

  /** Creates an account (no groups, not an administrator); returns its canonical name. */
  async add(name: string, password: string): Promise<string> {
    const user = normalizeUserName(name);
    validatePassword(password);
    this.#assertOpen();
    if (this.#table.credentials(user)) throw new AccountsError('USER_EXISTS', `user ${user} already exists`);
    const hash = await hashPassword(password, this.#params);
    this.#write('adding a user', () => this.#table.insert(user, hash, Date.now()));
    return user;
  }

  async setPassword(name: string, password: string): Promise<void> {
    const user = normalizeUserName(name);
    validatePassword(password);
    this.#assertOpen();
    if (!this.#table.credentials(user)) throw noSuchUser(user);
    const hash = await hashPassword(password, this.#params);
    this.#write('changing a password', () => this.#table.setPasswordHash(user, hash));
    this.#cache.forget(user);
  }

  /** Replaces the account's groups (names as for users; duplicates are dropped). */
  setGroups(name: string, groups: readonly string[]): void {
    const user = normalizeUserName(name);
    const names = [...new Set(groups.map(normalizeGroupName))];
    this.#write('setting groups', () => this.#table.setGroups(user, names));
  }

  setAdmin(name: string, admin: boolean): void {
    const user = normalizeUserName(name);
    this.#write('setting the administrator flag', () => this.#table.setAdmin(user, admin));
  }

  /**
   * Keeps the account from logging in anywhere (POP3, SMTP AUTH, the file service, the admin page)
   * until `enable`, without touching its password, mail or files; its sessions end as after a
   * password change. Mail to it is still delivered. A disabled account takes the new reason (an
   * empty one clears it; none given keeps its reason). True when it was enabled before.
   * NO_SUCH_USER, BAD_REASON; LAST_ADMIN for the last administrator not disabled (no one could
   * sign in to the admin page until its setup link, which then opens, made another).
   */
  disable(name: string, reason?: string): boolean {
    const user = normalizeUserName(name);
    const text = reason === undefined ? undefined : (normalizeDisableReason(reason) ?? null);
    const changed = this.#write('disabling a user', () => this.#table.disable(user, text));
    this.#cache.forget(user);
    return changed;
  }

  /** Lets a disabled account log in again, with the same password. True when it was disabled. NO_SUCH_USER. */
  enable(name: string): boolean {
    const user = normalizeUserName(name);
    return this.#write('enabling a user', () => this.#table.enable(user));
  }

  /**
   * Deletes the account, its groups and APOP secret. What other parts keep under the name (the
   * mail store's maildrop) is theirs to remove first: see the README.
   */
  remove(name: string): void {
    const user = normalizeUserName(name);
    this.#write('deleting a user', () => this.#table.remove(user));
    this.#cache.forget(user);
  }

  // ---- APOP -----------------------------------------------------------------------------------

  /** Sets the user's APOP shared secret (stored readable: see the README). */
  setApopSecret(name: string, secret: string): void {
    const user = normalizeUserName(name);
    validatePassword(secret, 'APOP secret');
    this.#write('setting an APOP secret', () => this.#table.setApopSecret(user, secret));
  }

  /** Removes the user's APOP secret; returns whether one was set. */
  clearApopSecret(name: string): boolean {
    const user = normalizeUserName(name);
    return this.#write('clearing an APOP secret', () => this.#table.clearApopSecret(user));
  }

  /** The user's APOP secret, or undefined if the user has none (or does not exist). */
  getApopSecret(name: string): string | undefined {
    this.#assertOpen();
    const user = canonicalName(name);
    return user === undefined ? undefined : this.#table.getApopSecret(user);
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /** Forgets cached checks and closes the database; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    for (const policy of this.#policies) policy.close();
    this.#closed = true;
    this.#cache.clear();
    this.#db.close();
  }
}

export async function openAccounts(options: AccountsOptions): Promise<Accounts> {
  const file = accountsFile(options.dir);
  const legacy = options.legacyStore !== undefined && existsSync(options.legacyStore);
  if (options.create === false && !legacy) {
    await access(file).catch((error: unknown) => {
      throw new AccountsError('ACCOUNTS_MISSING', `no accounts at ${options.dir} (${file} does not exist)`, { cause: error });
    });
  } else {
    await mkdir(options.dir, { recursive: true, mode: 0o700 }).catch((error: unknown) => {
      throw storageError(error, `creating ${options.dir}`);
    });
  }
  let db: Db;
  try {
    db = openDatabase(file, options.busyTimeoutMs ?? 5000, SCHEMA);
  } catch (error) {
    throw storageError(error, `opening ${file}`);
  }
  try {
    importLegacyAccounts(db, options.legacyStore);
  } catch (error) {
    db.close();
    throw storageError(error, `moving the accounts out of ${options.legacyStore ?? 'the mail store'}`);
  }
  return new Accounts(db, options);
}

/**
 * The suite's accounts: DATA/accounts, moving the users of a mail store made before accounts had
 * their own file (DATA/mail/store.db) on first open.
 */
export function openSuiteAccounts(dataDir: string, options: Omit<AccountsOptions, 'dir' | 'legacyStore'> = {}): Promise<Accounts> {
  return openAccounts({ ...options, dir: join(dataDir, 'accounts'), legacyStore: join(dataDir, 'mail', 'store.db') });
}
