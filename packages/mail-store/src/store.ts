/**
 * The mail store: a SQLite index (WAL) in DIR/store.db and body files beside it. Several
 * processes open one store at once (SMTP delivers, POP3 reads and deletes, the CLI manages users);
 * every write is one short IMMEDIATE transaction.
 */
import { access, mkdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Database } from 'better-sqlite3';
import { InlineBodyReader } from './body-reader.js';
import type { BodyReader } from './body-reader.js';
import { BodyFiles, syncDir } from './bodies.js';
import type { BodySource, WrittenBody } from './bodies.js';
import type { CommitItem, WireError } from './commit-protocol.js';
import { StoreThread } from './commit-thread.js';
import { openDatabase, withoutSync } from './database.js';
import { MailStoreError, storageError } from './errors.js';
import type { MailStoreErrorCode } from './errors.js';
import { GroupCommit } from './group-commit.js';
import type { Settled } from './group-commit.js';
import { MaildropLocks } from './locks.js';
import type { LockHolder } from './locks.js';
import { MessageTable } from './messages.js';
import type { Delivery, Maildrop, MessageInfo } from './messages.js';
import { normalizeUserName } from './names.js';
import { checkPassword, DEFAULT_SCRYPT_PARAMS, dummyPasswordHash, hashPassword, VerificationCache } from './passwords.js';
import type { ScryptParams } from './passwords.js';
import { UserTable, validatePassword } from './users.js';
import type { UserInfo } from './users.js';

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

export interface DeliverInput {
  /** Local user names; duplicates are delivered once. */
  readonly recipients: readonly string[];
  /** The message. Line ends are stored as CRLF. A stream is read with back-pressure. */
  readonly body: BodySource;
  /** Bytes written before the body (e.g. `Return-Path:` and `Received:` header lines). */
  readonly prefix?: string | Uint8Array;
  /** Size cap in bytes (counted after CRLF conversion): MESSAGE_TOO_LARGE when exceeded. */
  readonly maxSize?: number;
  readonly arrivedAt?: Date;
}

export interface DeleteUserOptions {
  /** Also delete the messages in the user's maildrop (otherwise a non-empty maildrop is refused). */
  readonly purge?: boolean;
}

/** WAL bytes (estimated) after which the checkpoint thread is asked to run: about SQLite's 1,000 pages. */
const CHECKPOINT_BYTES = 4 * 1024 * 1024;
/** WAL frames past which a checkpoint waits for the committer once to restart the WAL (64 MiB). */
const RESTART_ABOVE_FRAMES = 16_384;
/** WAL bytes a delivery costs besides its inline body (index rows and pages touched), a guess. */
const ROW_BYTES = 256;

function fromWire(error: WireError): MailStoreError {
  return new MailStoreError(error.code as MailStoreErrorCode, error.message);
}

interface PendingDelivery {
  readonly users: readonly string[];
  readonly body: WrittenBody;
  readonly arrivedAt: number;
}

export class MailStore {
  readonly dir: string;
  readonly #db: Database;
  readonly #bodies: BodyFiles;
  readonly #users: UserTable;
  readonly #messages: MessageTable;
  readonly #locks: MaildropLocks;
  readonly #cache: VerificationCache;
  readonly #params: ScryptParams;
  readonly #maxMessageSize: number | undefined;
  /** The maildrop id of each lock taken here, by `user\0holder`: unlocking needs no lookup. */
  readonly #heldLocks = new Map<string, number>();
  readonly #lock: (user: string, holderId: string, now: number) => Maildrop | undefined;
  readonly #commits: GroupCommit<PendingDelivery, Delivery[]>;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #file: string;
  readonly #busyTimeoutMs: number;
  #commitThread: StoreThread | undefined;
  #checkpointThread: StoreThread | undefined;
  #checkpointing: Promise<void> | undefined;
  /** Bytes appended to the WAL by commits since the last checkpoint was asked for (estimated). */
  #walBytes = 0;
  #closed = false;
  #cacheHits = 0;
  #cacheMisses = 0;

  /** Use `openMailStore`. */
  constructor(db: Database, bodies: BodyFiles, options: MailStoreOptions) {
    this.dir = options.dir;
    this.#file = join(options.dir, 'store.db');
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.#db = db;
    this.#bodies = bodies;
    this.#users = new UserTable(db);
    this.#messages = new MessageTable(db);
    this.#locks = new MaildropLocks(db);
    this.#cache = new VerificationCache(options.authCacheTtlMs ?? 60_000);
    this.#params = options.passwordParams ?? DEFAULT_SCRYPT_PARAMS;
    this.#maxMessageSize = options.maxMessageSize;
    this.#commits = new GroupCommit((batch) => this.#commitDeliveries(batch));
    // The maildrop (and its version) is read under the write lock, so it is the one locked.
    this.#lock = db.transaction((user: string, holderId: string, now: number): Maildrop | undefined => {
      const maildrop = this.#messages.getMaildrop(user);
      return this.#locks.take(maildrop.id, holderId, now) ? maildrop : undefined;
    }).immediate;
    // The checkpoint thread checkpoints (see #noteWal); a commit here never stalls on one.
    db.pragma('wal_autocheckpoint = 0');
  }

  // ---- users ----------------------------------------------------------------------------------

  async addUser(name: string, password: string): Promise<void> {
    const user = normalizeUserName(name);
    validatePassword(password);
    this.#assertOpen();
    if (this.#users.find(user)) throw new MailStoreError('USER_EXISTS', `user ${user} already exists`);
    const hash = await hashPassword(password, this.#params);
    this.#write('adding a user', () => this.#users.insert(user, hash, Date.now()));
  }

  async setPassword(name: string, password: string): Promise<void> {
    const user = normalizeUserName(name);
    validatePassword(password);
    this.#assertOpen();
    this.#users.get(user);
    const hash = await hashPassword(password, this.#params);
    this.#write('changing a password', () => this.#users.setPasswordHash(user, hash, Date.now()));
    this.#cache.forget(user);
  }

  /** Deletes a user; refuses (MAILDROP_NOT_EMPTY) if the maildrop holds mail, unless `purge`. */
  async deleteUser(name: string, options: DeleteUserOptions = {}): Promise<{ purged: number }> {
    const user = normalizeUserName(name);
    this.#assertOpen();
    const { deleted, files } = this.#write('deleting a user', () =>
      this.#db
        .transaction(() => {
          const row = this.#users.get(user);
          const maildrop = this.#messages.getMaildrop(user);
          const count = this.#messages.count(maildrop.id);
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
          const result = this.#messages.delete(maildrop.id, 'all');
          this.#db.prepare('DELETE FROM mailboxes WHERE user_id = ?').run(row.id);
          this.#db.prepare('DELETE FROM users WHERE id = ?').run(row.id);
          return result;
        })
        .immediate(),
    );
    this.#cache.forget(user);
    await this.#bodies.remove(files);
    return { purged: deleted };
  }

  listUsers(): UserInfo[] {
    this.#assertOpen();
    return this.#users.list();
  }

  hasUser(name: string): boolean {
    this.#assertOpen();
    let user: string;
    try {
      user = normalizeUserName(name);
    } catch {
      return false;
    }
    return this.#users.find(user) !== undefined;
  }

  /**
   * Checks a password without blocking the event loop (scrypt on the thread pool). An unknown or
   * invalid user name costs the same as a wrong password. Successful checks are cached briefly.
   */
  async verifyPassword(name: string, password: string): Promise<boolean> {
    this.#assertOpen();
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

  /** Counts of password checks answered from the cache and by scrypt, for logs and tests. */
  authCacheStats(): { hits: number; misses: number } {
    return { hits: this.#cacheHits, misses: this.#cacheMisses };
  }

  /** Sets the user's APOP shared secret (stored readable: see the README). */
  setApopSecret(name: string, secret: string): void {
    const user = normalizeUserName(name);
    validatePassword(secret, 'APOP secret');
    this.#assertOpen();
    this.#write('setting an APOP secret', () => this.#users.setApopSecret(user, secret, Date.now()));
  }

  /** Removes the user's APOP secret; returns whether one was set. */
  clearApopSecret(name: string): boolean {
    const user = normalizeUserName(name);
    this.#assertOpen();
    return this.#write('clearing an APOP secret', () => this.#users.clearApopSecret(user));
  }

  /** The user's APOP secret, or undefined if the user has none (or does not exist). */
  getApopSecret(name: string): string | undefined {
    this.#assertOpen();
    let user: string;
    try {
      user = normalizeUserName(name);
    } catch {
      return undefined;
    }
    return this.#users.getApopSecret(user);
  }

  // ---- delivery -------------------------------------------------------------------------------

  /**
   * Stores one message for every recipient, all or nothing, and resolves once it is durable
   * (body file and index synced). Rejects with a `MailStoreError`: NO_SUCH_USER, BAD_USER_NAME,
   * NO_RECIPIENTS, MESSAGE_TOO_LARGE (permanent), STORAGE_FULL, STORAGE_ERROR (temporary). On
   * MESSAGE_TOO_LARGE the body stream is left unread, not destroyed.
   */
  deliver(input: DeliverInput): Promise<Delivery[]> {
    const delivery = this.#deliver(input);
    const settled = delivery.then(
      () => undefined,
      () => undefined,
    );
    this.#inFlight.add(settled);
    void settled.then(() => this.#inFlight.delete(settled));
    return delivery;
  }

  async #deliver(input: DeliverInput): Promise<Delivery[]> {
    this.#assertOpen();
    const users = [...new Set(input.recipients.map(normalizeUserName))];
    if (users.length === 0) throw new MailStoreError('NO_RECIPIENTS', 'a delivery needs at least one recipient');
    const unknown = users.filter((user) => this.#users.find(user) === undefined);
    if (unknown.length > 0) throw new MailStoreError('NO_SUCH_USER', `no such user: ${unknown.join(', ')}`);
    const maxSize = input.maxSize ?? this.#maxMessageSize;
    this.#committer(); // boots the commit thread, if needed, while the body streams in
    const body = await this.#bodies.write(input.body, { maxSize, prefix: input.prefix });
    try {
      return await this.#commits.submit({ users, body, arrivedAt: (input.arrivedAt ?? new Date()).getTime() });
    } catch (error) {
      if (body.kind === 'file') await this.#bodies.remove([body.file]);
      throw error;
    }
  }

  async #commitDeliveries(batch: readonly PendingDelivery[]): Promise<Settled<Delivery[]>[]> {
    try {
      const dirs = new Set(batch.flatMap((item) => (item.body.kind === 'file' ? [item.body.dir] : [])));
      await Promise.all([...dirs].map(syncDir));
    } catch (error) {
      throw storageError(error, 'syncing a body directory');
    }
    if (this.#closed) throw new MailStoreError('STORE_CLOSED', 'the mail store was closed');
    let walBytes = 0;
    const items = batch.map((item): CommitItem => {
      walBytes += ROW_BYTES * (1 + item.users.length);
      if (item.body.kind === 'file') return { users: item.users, file: item.body.file, size: item.body.size, arrivedAt: item.arrivedAt };
      walBytes += item.body.size;
      return { users: item.users, data: item.body.data, size: item.body.size, arrivedAt: item.arrivedAt };
    });
    const [only] = items;
    // A lone delivery with no other one under way has nothing to batch with: committing it right
    // here saves two thread hand-offs. The loop blocks for that one fsync, but nothing else is
    // waiting on it; the commit thread is idle meanwhile (the group commit runs one batch at a time).
    const results =
      (items.length === 1 && only !== undefined && this.#inFlight.size <= 1 ? this.#commitHere(only) : undefined) ??
      (await this.#commitOnThread(items));
    this.#noteWal(walBytes);
    return results;
  }

  async #commitOnThread(items: readonly CommitItem[]): Promise<Settled<Delivery[]>[]> {
    const reply = await this.#committer().request({ type: 'commit', items });
    if ('error' in reply) throw fromWire(reply.error);
    if (!('results' in reply)) throw new MailStoreError('STORAGE_ERROR', 'mail store thread answered a commit without results');
    return reply.results.map((result) => (result.ok ? result : { ok: false, error: fromWire(result.error) }));
  }

  /**
   * Commits one delivery on this thread's connection, without waiting for a lock: undefined if
   * another process holds the write lock (then the commit thread waits for it instead).
   */
  #commitHere(item: CommitItem): Settled<Delivery[]>[] | undefined {
    const body = item.file !== undefined ? { file: item.file, size: item.size } : { data: item.data as Buffer, size: item.size };
    this.#db.pragma('busy_timeout = 0');
    try {
      const value = this.#db.transaction(() => this.#messages.insertDelivery(item.users, body, item.arrivedAt)).immediate();
      return [{ ok: true, value }];
    } catch (error) {
      if (error instanceof MailStoreError) return [{ ok: false, error }];
      if ((error as { code?: unknown }).code === 'SQLITE_BUSY') return undefined;
      throw storageError(error, 'committing a delivery');
    } finally {
      this.#db.pragma(`busy_timeout = ${this.#busyTimeoutMs}`);
    }
  }

  /** Counts WAL growth; past CHECKPOINT_BYTES the checkpoint thread copies the WAL back. */
  #noteWal(bytes: number): void {
    this.#walBytes += bytes;
    if (this.#walBytes >= CHECKPOINT_BYTES) this.#checkpoint();
  }

  /** The commit thread, started on first use (readers such as POP3 never start one). */
  #committer(): StoreThread {
    if (this.#commitThread?.alive !== true) {
      this.#commitThread = new StoreThread({ role: 'commit', file: this.#file, busyTimeoutMs: this.#busyTimeoutMs });
    }
    return this.#commitThread;
  }

  /**
   * Asks the checkpoint thread to copy the WAL into the database (PASSIVE: commits go on
   * meanwhile). If that thread fails, the commit thread checkpoints by itself from then on.
   */
  #checkpoint(): void {
    if (this.#checkpointing !== undefined || this.#closed) return;
    this.#walBytes = 0;
    if (this.#checkpointThread?.alive !== true) {
      this.#checkpointThread = new StoreThread({ role: 'checkpoint', file: this.#file, busyTimeoutMs: this.#busyTimeoutMs });
    }
    this.#checkpointing = this.#checkpointThread
      .request({ type: 'checkpoint', restartAbove: RESTART_ABOVE_FRAMES })
      .then(async (reply) => {
        if ('error' in reply) throw fromWire(reply.error);
      })
      .catch(async () => {
        // Back to SQLite's own checkpoints after each commit: slower, but the WAL stays bounded.
        if (!this.#closed) this.#db.pragma('wal_autocheckpoint = 1000');
        await this.#commitThread?.request({ type: 'autocheckpoint', pages: 1000 }).catch(() => undefined);
      })
      .finally(() => {
        this.#checkpointing = undefined;
      });
  }

  // ---- reading and deleting (POP3) ------------------------------------------------------------

  /** The user's messages in UID order, from the index only (no body is read). */
  listMessages(name: string): MessageInfo[] {
    this.#assertOpen();
    return this.#messages.list(this.#messages.getMaildrop(normalizeUserName(name)));
  }

  /**
   * A stream of the stored body (CRLF line ends): a large body is read from its file in 64 KiB
   * chunks, a small one (at most 64 KiB) comes from the index. `range` is inclusive, as in
   * `fs.createReadStream`.
   */
  async openBody(messageId: number, range: { start?: number; end?: number } = {}): Promise<Readable> {
    this.#assertOpen();
    const body = this.#messages.body(messageId);
    if (!body) throw new MailStoreError('NO_SUCH_MESSAGE', `no such message: ${messageId}`);
    if (body.data !== null) {
      const start = range.start ?? 0;
      const end = range.end === undefined ? body.data.length : range.end + 1;
      return Readable.from([body.data.subarray(start, end)], { objectMode: false });
    }
    try {
      return await this.#bodies.open(body.file ?? '', range);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new MailStoreError('NO_SUCH_MESSAGE', `message ${messageId} was deleted`);
      }
      throw storageError(error, 'opening a body file');
    }
  }

  /**
   * Like `openBody`, but read on demand into the caller's buffers (see BodyReader): no chunk is
   * allocated or read ahead, so many concurrent large reads stay within the caller's buffers.
   * Close it when done.
   */
  async openBodyReader(messageId: number, range: { start?: number; end?: number } = {}): Promise<BodyReader> {
    this.#assertOpen();
    const body = this.#messages.body(messageId);
    if (!body) throw new MailStoreError('NO_SUCH_MESSAGE', `no such message: ${messageId}`);
    if (body.data !== null) return new InlineBodyReader(body.data, range);
    try {
      return await this.#bodies.openReader(body.file ?? '', body.size, range);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new MailStoreError('NO_SUCH_MESSAGE', `message ${messageId} was deleted`);
      }
      throw storageError(error, 'opening a body file');
    }
  }

  /**
   * A token that changes whenever a message is added to or removed from the user's maildrop (and
   * when the user is deleted and created again), from the index only: a caller can keep
   * `listMessages` results and reuse them while the token stays the same.
   */
  maildropVersion(name: string): string {
    this.#assertOpen();
    return this.#messages.getMaildrop(normalizeUserName(name)).version;
  }

  /** Deletes messages of the user's maildrop in one transaction; returns how many were deleted. */
  async deleteMessages(name: string, messageIds: readonly number[]): Promise<number> {
    this.#assertOpen();
    const maildrop = this.#messages.getMaildrop(normalizeUserName(name));
    if (messageIds.length === 0) return 0;
    const { deleted, files } = this.#write('deleting messages', () =>
      this.#db.transaction(() => this.#messages.delete(maildrop.id, messageIds)).immediate(),
    );
    await this.#bodies.remove(files);
    return deleted;
  }

  // ---- maildrop lock (POP3) -------------------------------------------------------------------

  /**
   * Takes the exclusive lock on the user's maildrop for `holderId` (e.g. a POP3 session id).
   * False if another session holds it, in this or another process. Released by `unlockMaildrop`,
   * by `close`, or by the holding process dying (even by SIGKILL).
   */
  tryLockMaildrop(name: string, holderId: string): boolean {
    return this.lockMaildrop(name, holderId) !== undefined;
  }

  /**
   * `tryLockMaildrop` that also returns the maildrop's version as locked (see `maildropVersion`),
   * in the same transaction; undefined if another session holds the lock.
   */
  lockMaildrop(name: string, holderId: string): { readonly version: string } | undefined {
    this.#assertOpen();
    const user = normalizeUserName(name);
    const maildrop = this.#writeUnsynced('locking a maildrop', () => this.#lock(user, holderId, Date.now()));
    if (maildrop === undefined) return undefined;
    this.#heldLocks.set(`${user}\0${holderId}`, maildrop.id);
    return { version: maildrop.version };
  }

  unlockMaildrop(name: string, holderId: string): void {
    this.#assertOpen();
    const maildropId = this.#forgetLock(normalizeUserName(name), holderId);
    if (maildropId === undefined) return;
    this.#writeUnsynced('unlocking a maildrop', () => this.#locks.unlock(maildropId, holderId));
  }

  /**
   * `lockMaildrop` that never blocks the event loop on another process's write transaction (an
   * SMTP commit syncing, a checkpoint): while the database is busy it retries after short timers,
   * up to `busyTimeoutMs`, then fails with STORAGE_ERROR as a blocking write would.
   */
  async acquireMaildrop(name: string, holderId: string): Promise<{ readonly version: string } | undefined> {
    this.#assertOpen();
    const user = normalizeUserName(name);
    const maildrop = await this.#writeWhenFree('locking a maildrop', () => this.#lock(user, holderId, Date.now()));
    if (maildrop === undefined) return undefined;
    this.#heldLocks.set(`${user}\0${holderId}`, maildrop.id);
    return { version: maildrop.version };
  }

  /** `unlockMaildrop` that never blocks the event loop (see `acquireMaildrop`). */
  async releaseMaildrop(name: string, holderId: string): Promise<void> {
    this.#assertOpen();
    const maildropId = this.#forgetLock(normalizeUserName(name), holderId);
    if (maildropId === undefined) return;
    await this.#writeWhenFree('unlocking a maildrop', () => this.#locks.unlock(maildropId, holderId));
  }

  /** Forgets a lock taken here; returns its maildrop id (looked up if it was not taken here). */
  #forgetLock(user: string, holderId: string): number | undefined {
    const key = `${user}\0${holderId}`;
    const maildropId = this.#heldLocks.get(key) ?? this.#messages.maildrop(user)?.id;
    this.#heldLocks.delete(key);
    return maildropId;
  }

  /** Who holds the user's maildrop lock, if anyone alive does. */
  maildropLockHolder(name: string): LockHolder | undefined {
    this.#assertOpen();
    return this.#locks.holder(this.#messages.getMaildrop(normalizeUserName(name)).id);
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /** Removes body files no index row references and whose writer is gone; returns the count. */
  async removeOrphanBodies(): Promise<number> {
    this.#assertOpen();
    return this.#bodies.removeOrphans(() => this.#messages.allBodyFiles());
  }

  /** Waits for deliveries in flight, releases this store's maildrop locks, closes the database. */
  async close(): Promise<void> {
    if (this.#closed) return;
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
    await this.#commits.idle();
    this.#closed = true;
    await this.#checkpointing;
    await Promise.all([this.#commitThread?.close(), this.#checkpointThread?.close()]);
    for (const [key, maildropId] of this.#heldLocks) {
      const holder = key.slice(key.indexOf('\0') + 1);
      try {
        this.#locks.unlock(maildropId, holder);
      } catch {
        // The holder's pid is this process: the lock is recognised as free once it exits anyway.
      }
    }
    this.#heldLocks.clear();
    this.#cache.clear();
    this.#db.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new MailStoreError('STORE_CLOSED', 'the mail store is closed');
  }

  /**
   * A write that need not survive a power loss, committed without waiting for an fsync
   * (`synchronous = NORMAL` for this transaction only): the maildrop locks. A lock row lost in a
   * crash is one whose holder died in that crash; one that survives is recognised as stale by its
   * pid and start time. In WAL mode NORMAL keeps the database consistent, and the next FULL commit
   * (a delivery, a deletion) syncs these frames with its own.
   */
  #writeUnsynced<T>(doing: string, run: () => T): T {
    return withoutSync(this.#db, () => this.#write(doing, run));
  }

  /**
   * An unsynced write (see #writeUnsynced) that does not wait for the write lock on this thread:
   * tried with `busy_timeout = 0`, and while another connection holds the lock, tried again after
   * 1, 2, 4 ... 16 ms, until `busyTimeoutMs` has passed.
   */
  async #writeWhenFree<T>(doing: string, run: () => T): Promise<T> {
    const deadline = Date.now() + this.#busyTimeoutMs;
    for (let wait = 1; ; wait = Math.min(wait * 2, 16)) {
      this.#assertOpen();
      this.#db.pragma('busy_timeout = 0');
      try {
        return this.#writeUnsynced(doing, run);
      } catch (error) {
        const busy = /^SQLITE_BUSY/.test(String((error as { cause?: { code?: unknown } }).cause?.code));
        if (!busy || Date.now() >= deadline) throw error;
      } finally {
        this.#db.pragma(`busy_timeout = ${this.#busyTimeoutMs}`);
      }
      await sleep(wait);
    }
  }

  #write<T>(doing: string, run: () => T): T {
    try {
      const result = run();
      this.#noteWal(ROW_BYTES);
      return result;
    } catch (error) {
      throw storageError(error, doing);
    }
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
