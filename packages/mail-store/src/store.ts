/**
 * The mail store: a SQLite index (WAL) in DIR/store.db and body files beside it. Several
 * processes open one store at once (SMTP delivers, POP3 reads and deletes, the CLI manages
 * maildrops); every write is one short IMMEDIATE transaction. Users are names: who they are and
 * how they log in is @hearth/accounts' business.
 *
 * MailStore is the public face; each concern lives in its own module: users' maildrops
 * (maildrops.ts), delivery (delivery.ts), reading and deleting (reading.ts), the maildrop lock
 * (locks.ts), and the connection, its writes and the WAL threads they share (core.ts).
 */
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Database } from 'better-sqlite3';
import { openDatabase } from '@hearth/sqlite';
import { storeReserve } from './reserve.js';
import type { BodyReader } from './body-reader.js';
import { BodyFiles } from './bodies.js';
import { StoreCore } from './core.js';
import { Deliveries } from './delivery.js';
import type { DeliverInput } from './delivery.js';
import { MailStoreError, storageError } from './errors.js';
import { MaildropLocking, MaildropLocks } from './locks.js';
import type { LockHolder } from './locks.js';
import type { Delivery, MessageInfo } from './messages.js';
import { MaildropReader } from './reading.js';
import { SCHEMA } from './schema.js';
import { Maildrops } from './maildrops.js';
import type { DeleteMaildropOptions } from './maildrops.js';
import type { MaildropInfo } from './users.js';

export type { DeleteMaildropOptions } from './maildrops.js';
export type { DeliverInput } from './delivery.js';

export interface MailStoreOptions {
  /** The store's directory (the suite uses DATA/mail). */
  readonly dir: string;
  /** Create the directory and database if missing (default true); false fails with STORE_MISSING. */
  readonly create?: boolean;
  /** How long a write waits for another process's transaction (default 5000 ms). */
  readonly busyTimeoutMs?: number;
  /** Default size cap for `deliver` in bytes (none by default). */
  readonly maxMessageSize?: number;
}

export class MailStore {
  readonly dir: string;
  readonly #core: StoreCore;
  readonly #maildrops: Maildrops;
  readonly #deliveries: Deliveries;
  readonly #reader: MaildropReader;
  readonly #locking: MaildropLocking;

  /** Use `openMailStore`. */
  constructor(db: Database, bodies: BodyFiles, options: MailStoreOptions) {
    this.dir = options.dir;
    this.#core = new StoreCore(db, bodies, options.dir, options.busyTimeoutMs);
    const locks = new MaildropLocks(db);
    this.#maildrops = new Maildrops(this.#core, locks);
    this.#deliveries = new Deliveries(this.#core, (user) => this.#maildrops.find(user), options.maxMessageSize);
    this.#reader = new MaildropReader(this.#core);
    this.#locking = new MaildropLocking(this.#core, locks);
    this.#core.disableAutocheckpoint();
  }

  // ---- maildrops ----------------------------------------------------------------------------

  /** Creates the user's (empty) maildrop unless it exists; returns whether it was created. */
  addMaildrop(name: string): boolean {
    return this.#maildrops.ensure(name);
  }

  /**
   * Deletes the user's maildrop; refuses with MAILDROP_NOT_EMPTY if it holds mail (unless `purge`)
   * and with MAILDROP_LOCKED while a POP3 session holds its exclusive lock (POP3's `exclusiveLock`;
   * by default sessions take none, and a session open meanwhile finds its messages gone).
   */
  deleteMaildrop(name: string, options: DeleteMaildropOptions = {}): Promise<{ purged: number }> {
    return this.#maildrops.delete(name, options);
  }

  /** Every maildrop with its owner's name, message count and size. */
  listMaildrops(): MaildropInfo[] {
    return this.#maildrops.list();
  }

  /** Whether the user has a maildrop (mail can be delivered to them). */
  hasMaildrop(name: string): boolean {
    return this.#maildrops.has(name);
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
    this.#core.db.close();
  }
}

export async function openMailStore(options: MailStoreOptions): Promise<MailStore> {
  const file = join(options.dir, 'store.db');
  if (options.create === false) {
    await access(file).catch((error: unknown) => {
      // Only a store that is not there is missing; one we may not read is an error to report.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new MailStoreError('STORE_UNREADABLE', `cannot read the mail store at ${options.dir} (${code ?? String(error)})`, { cause: error });
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
    db = openDatabase(file, options.busyTimeoutMs ?? 5000, SCHEMA);
  } catch (error) {
    throw storageError(error, `opening ${file}`);
  }
  // Best effort: a disk already full (or a store this process may only read) goes without.
  await storeReserve(options.dir).ensure();
  const store = new MailStore(db, bodies, options);
  await store.removeOrphanBodies().catch(async (error: unknown) => {
    await store.close();
    throw storageError(error, 'removing orphaned body files');
  });
  return store;
}
