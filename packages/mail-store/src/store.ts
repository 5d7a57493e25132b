/**
 * The mail store: a SQLite index (WAL) in DIR/store.db and body files beside it. Several
 * processes open one store at once (SMTP delivers, POP3 reads and deletes, the CLI manages users);
 * every write is one short IMMEDIATE transaction.
 *
 * MailStore is the public face; each concern lives in its own module: users and passwords
 * (accounts.ts), delivery (delivery.ts), reading and deleting (reading.ts), the maildrop lock
 * (locks.ts), and the connection, its writes and the WAL threads they share (core.ts).
 */
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Database } from 'better-sqlite3';
import { Accounts } from './accounts.js';
import type { DeleteUserOptions } from './accounts.js';
import type { BodyReader } from './body-reader.js';
import { BodyFiles } from './bodies.js';
import { StoreCore } from './core.js';
import { openDatabase } from './database.js';
import { Deliveries } from './delivery.js';
import type { DeliverInput } from './delivery.js';
import { MailStoreError, storageError } from './errors.js';
import { MaildropLocking, MaildropLocks } from './locks.js';
import type { LockHolder } from './locks.js';
import type { Delivery, MessageInfo } from './messages.js';
import type { ScryptParams } from './passwords.js';
import { MaildropReader } from './reading.js';
import type { UserInfo } from './users.js';

export type { DeleteUserOptions } from './accounts.js';
export type { DeliverInput } from './delivery.js';

export interface MailStoreOptions {
  /** The store's directory (the suite uses DATA/mail). */
  readonly dir: string;
  /** Create the directory and database if missing (default true); false fails with STORE_MISSING. */
  readonly create?: boolean;
  /** How long a write waits for another process's transaction (default 5000 ms). */
  readonly busyTimeoutMs?: number;
  /** scrypt cost for new hashes (default N=2^15, r=8, p=1). Existing hashes keep their own. */
  readonly passwordParams?: ScryptParams;
  /** How long a successful password check is remembered (default 60 s; 0 disables the cache). */
  readonly authCacheTtlMs?: number;
  /** Default size cap for `deliver` in bytes (none by default). */
  readonly maxMessageSize?: number;
}

export class MailStore {
  readonly dir: string;
  readonly #core: StoreCore;
  readonly #accounts: Accounts;
  readonly #deliveries: Deliveries;
  readonly #reader: MaildropReader;
  readonly #locking: MaildropLocking;

  /** Use `openMailStore`. */
  constructor(db: Database, bodies: BodyFiles, options: MailStoreOptions) {
    this.dir = options.dir;
    this.#core = new StoreCore(db, bodies, options.dir, options.busyTimeoutMs);
    const locks = new MaildropLocks(db);
    this.#accounts = new Accounts(this.#core, locks, options);
    this.#deliveries = new Deliveries(this.#core, (user) => this.#accounts.find(user), options.maxMessageSize);
    this.#reader = new MaildropReader(this.#core);
    this.#locking = new MaildropLocking(this.#core, locks);
    this.#core.disableAutocheckpoint();
  }

  // ---- users ----------------------------------------------------------------------------------

  addUser(name: string, password: string): Promise<void> {
    return this.#accounts.addUser(name, password);
  }

  setPassword(name: string, password: string): Promise<void> {
    return this.#accounts.setPassword(name, password);
  }

  /** Deletes a user; refuses (MAILDROP_NOT_EMPTY) if the maildrop holds mail, unless `purge`. */
  deleteUser(name: string, options: DeleteUserOptions = {}): Promise<{ purged: number }> {
    return this.#accounts.deleteUser(name, options);
  }

  listUsers(): UserInfo[] {
    return this.#accounts.listUsers();
  }

  hasUser(name: string): boolean {
    return this.#accounts.hasUser(name);
  }

  /**
   * Checks a password without blocking the event loop (scrypt on the thread pool). An unknown or
   * invalid user name costs the same as a wrong password. Successful checks are cached briefly.
   */
  verifyPassword(name: string, password: string): Promise<boolean> {
    return this.#accounts.verifyPassword(name, password);
  }

  /** Counts of password checks answered from the cache and by scrypt, for logs and tests. */
  authCacheStats(): { hits: number; misses: number } {
    return this.#accounts.authCacheStats();
  }

  /** Sets the user's APOP shared secret (stored readable: see the README). */
  setApopSecret(name: string, secret: string): void {
    this.#accounts.setApopSecret(name, secret);
  }

  /** Removes the user's APOP secret; returns whether one was set. */
  clearApopSecret(name: string): boolean {
    return this.#accounts.clearApopSecret(name);
  }

  /** The user's APOP secret, or undefined if the user has none (or does not exist). */
  getApopSecret(name: string): string | undefined {
    return this.#accounts.getApopSecret(name);
  }

  // ---- delivery -------------------------------------------------------------------------------

  /**
   * Stores one message for every recipient, all or nothing, and resolves once it is durable
   * (body file and index synced). Rejects with a `MailStoreError`: NO_SUCH_USER, BAD_USER_NAME,
   * NO_RECIPIENTS, MESSAGE_TOO_LARGE (permanent), STORAGE_FULL, STORAGE_ERROR (temporary). On
   * MESSAGE_TOO_LARGE the body stream is left unread, not destroyed.
   */
  deliver(input: DeliverInput): Promise<Delivery[]> {
    return this.#deliveries.deliver(input);
  }

  // ---- reading and deleting (POP3) ------------------------------------------------------------

  /** The user's messages in UID order, from the index only (no body is read). */
  listMessages(name: string): MessageInfo[] {
    return this.#reader.listMessages(name);
  }

  /**
   * A stream of the stored body (CRLF line ends): a large body is read from its file in 64 KiB
   * chunks, a small one (at most 64 KiB) comes from the index. `range` is inclusive, as in
   * `fs.createReadStream`.
   */
  openBody(messageId: number, range: { start?: number; end?: number } = {}): Promise<Readable> {
    return this.#reader.openBody(messageId, range);
  }

  /**
   * Like `openBody`, but read on demand into the caller's buffers (see BodyReader): no chunk is
   * allocated or read ahead, so many concurrent large reads stay within the caller's buffers.
   * Close it when done.
   */
  openBodyReader(messageId: number, range: { start?: number; end?: number } = {}): Promise<BodyReader> {
    return this.#reader.openBodyReader(messageId, range);
  }

  /**
   * A token that changes whenever a message is added to or removed from the user's maildrop (and
   * when the user is deleted and created again), from the index only: a caller can keep
   * `listMessages` results and reuse them while the token stays the same.
   */
  maildropVersion(name: string): string {
    return this.#locking.maildropVersion(name);
  }

  /** Deletes messages of the user's maildrop in one transaction; returns how many were deleted. */
  deleteMessages(name: string, messageIds: readonly number[]): Promise<number> {
    return this.#reader.deleteMessages(name, messageIds);
  }

  // ---- maildrop lock (POP3) -------------------------------------------------------------------

  /**
   * Takes the exclusive lock on the user's maildrop for `holderId` (e.g. a POP3 session id).
   * False if another session holds it, in this or another process. Released by `unlockMaildrop`,
   * by `close`, or by the holding process dying (even by SIGKILL).
   */
  tryLockMaildrop(name: string, holderId: string): boolean {
    return this.#locking.tryLockMaildrop(name, holderId);
  }

  /**
   * `tryLockMaildrop` that also returns the maildrop's version as locked (see `maildropVersion`),
   * in the same transaction; undefined if another session holds the lock.
   */
  lockMaildrop(name: string, holderId: string): { readonly version: string } | undefined {
    return this.#locking.lockMaildrop(name, holderId);
  }

  unlockMaildrop(name: string, holderId: string): void {
    this.#locking.unlockMaildrop(name, holderId);
  }

  /**
   * `lockMaildrop` that never blocks the event loop on another process's write transaction (an
   * SMTP commit syncing, a checkpoint): while the database is busy it retries after short timers,
   * up to `busyTimeoutMs`, then fails with STORAGE_ERROR as a blocking write would.
   */
  acquireMaildrop(name: string, holderId: string): Promise<{ readonly version: string } | undefined> {
    return this.#locking.acquireMaildrop(name, holderId);
  }

  /** `unlockMaildrop` that never blocks the event loop (see `acquireMaildrop`). */
  releaseMaildrop(name: string, holderId: string): Promise<void> {
    return this.#locking.releaseMaildrop(name, holderId);
  }

  /** Who holds the user's maildrop lock, if anyone alive does. */
  maildropLockHolder(name: string): LockHolder | undefined {
    return this.#locking.maildropLockHolder(name);
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /** Removes body files no index row references and whose writer is gone; returns the count. */
  async removeOrphanBodies(): Promise<number> {
    this.#core.assertOpen();
    return this.#core.bodies.removeOrphans(() => this.#core.messages.allBodyFiles());
  }

  /** Waits for deliveries in flight, releases this store's maildrop locks, closes the database. */
  async close(): Promise<void> {
    if (this.#core.closed) return;
    await this.#deliveries.drain();
    await this.#core.closeThreads();
    this.#locking.releaseAll();
    this.#accounts.clearCache();
    this.#core.db.close();
  }
}

export async function openMailStore(options: MailStoreOptions): Promise<MailStore> {
  const file = join(options.dir, 'store.db');
  if (options.create === false) {
    await access(file).catch((error: unknown) => {
      throw new MailStoreError('STORE_MISSING', `no mail store at ${options.dir} (${file} does not exist)`, { cause: error });
    });
  } else {
    await mkdir(options.dir, { recursive: true, mode: 0o700 }).catch((error: unknown) => {
      throw storageError(error, `creating ${options.dir}`);
    });
  }
  const bodies = new BodyFiles(options.dir);
  let db: Database;
  try {
    await bodies.init();
    db = openDatabase(file, options.busyTimeoutMs ?? 5000);
  } catch (error) {
    throw storageError(error, `opening ${file}`);
  }
  const store = new MailStore(db, bodies, options);
  await store.removeOrphanBodies().catch(async (error: unknown) => {
    await store.close();
    throw storageError(error, 'removing orphaned body files');
  });
  return store;
}
