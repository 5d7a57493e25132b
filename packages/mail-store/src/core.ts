/**
 * What every part of the mail store shares: the index connection and how it is written (synced,
 * unsynced, or without blocking the event loop), the open/closed state, and the WAL with the two
 * threads that commit deliveries and checkpoint it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import type { BodyFiles } from './bodies.js';
import type { WireError } from './commit-protocol.js';
import { StoreThread } from './commit-thread.js';
import { withoutSync } from './database.js';
import { MailStoreError, storageError } from './errors.js';
import type { MailStoreErrorCode } from './errors.js';
import { MessageTable } from './messages.js';
import type { SpaceReserve } from '@hearth/sqlite';
import { storeReserve } from './reserve.js';

/** WAL bytes (estimated) after which the checkpoint thread is asked to run: about SQLite's 1,000 pages. */
const CHECKPOINT_BYTES = 4 * 1024 * 1024;
/** WAL frames past which a checkpoint waits for the committer once to restart the WAL (64 MiB). */
const RESTART_ABOVE_FRAMES = 16_384;
/** WAL bytes a delivery costs besides its inline body (index rows and pages touched), a guess. */
export const ROW_BYTES = 256;

export function fromWire(error: WireError): MailStoreError {
  return new MailStoreError(error.code as MailStoreErrorCode, error.message);
}

export class StoreCore {
  readonly db: Database;
  readonly bodies: BodyFiles;
  readonly messages: MessageTable;
  /** Room kept back for the writes that free space (reserve.ts). */
  readonly reserve: SpaceReserve;
  readonly busyTimeoutMs: number;
  readonly #file: string;
  #commitThread: StoreThread | undefined;
  #checkpointThread: StoreThread | undefined;
  #checkpointing: Promise<void> | undefined;
  /** Bytes appended to the WAL by commits since the last checkpoint was asked for (estimated). */
  #walBytes = 0;
  #closed = false;

  constructor(db: Database, bodies: BodyFiles, dir: string, busyTimeoutMs: number | undefined) {
    this.#file = join(dir, 'store.db');
    this.busyTimeoutMs = busyTimeoutMs ?? 5000;
    this.db = db;
    this.bodies = bodies;
    this.messages = new MessageTable(db);
    this.reserve = storeReserve(dir);
  }

  /** Turns SQLite's own checkpoints off: the checkpoint thread does them (see `noteWal`). */
  disableAutocheckpoint(): void {
    // The checkpoint thread checkpoints (see noteWal); a commit here never stalls on one.
    this.db.pragma('wal_autocheckpoint = 0');
  }

  get closed(): boolean {
    return this.#closed;
  }

  assertOpen(): void {
    if (this.#closed) throw new MailStoreError('STORE_CLOSED', 'the mail store is closed');
  }

  /** Marks the store closed, then waits for a checkpoint under way and stops both threads. */
  async closeThreads(): Promise<void> {
    this.#closed = true;
    await this.#checkpointing;
    await Promise.all([this.#commitThread?.close(), this.#checkpointThread?.close()]);
  }

  write<T>(doing: string, run: () => T): T {
    try {
      const result = run();
      this.noteWal(ROW_BYTES);
      return result;
    } catch (error) {
      throw storageError(error, doing);
    }
  }

  /**
   * A write that need not survive a power loss, committed without waiting for an fsync
   * (`synchronous = NORMAL` for this transaction only): the maildrop locks. A lock row lost in a
   * crash is one whose holder died in that crash; one that survives is recognised as stale by its
   * pid and start time. In WAL mode NORMAL keeps the database consistent, and the next FULL commit
   * (a delivery, a deletion) syncs these frames with its own.
   */
  writeUnsynced<T>(doing: string, run: () => T): T {
    return withoutSync(this.db, () => this.write(doing, run));
  }

  /**
   * An unsynced write (see writeUnsynced) that does not wait for the write lock on this thread:
   * tried with `busy_timeout = 0`, and while another connection holds the lock, tried again after
   * 1, 2, 4 ... 16 ms, until `busyTimeoutMs` has passed.
   */
  async writeWhenFree<T>(doing: string, run: () => T): Promise<T> {
    const deadline = Date.now() + this.busyTimeoutMs;
    for (let wait = 1; ; wait = Math.min(wait * 2, 16)) {
      this.assertOpen();
      this.db.pragma('busy_timeout = 0');
      try {
        return this.writeUnsynced(doing, run);
      } catch (error) {
        const busy = /^SQLITE_BUSY/.test(String((error as { cause?: { code?: unknown } }).cause?.code));
        if (!busy || Date.now() >= deadline) throw error;
      } finally {
        this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
      }
      await sleep(wait);
    }
  }

  /** Counts WAL growth; past CHECKPOINT_BYTES the checkpoint thread copies the WAL back. */
  noteWal(bytes: number): void {
    this.#walBytes += bytes;
    if (this.#walBytes >= CHECKPOINT_BYTES) this.#checkpoint();
  }

  /** The commit thread, started on first use (readers such as POP3 never start one). */
  committer(): StoreThread {
    if (this.#commitThread?.alive !== true) {
      this.#commitThread = new StoreThread({ role: 'commit', file: this.#file, busyTimeoutMs: this.busyTimeoutMs });
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
      this.#checkpointThread = new StoreThread({ role: 'checkpoint', file: this.#file, busyTimeoutMs: this.busyTimeoutMs });
    }
    this.#checkpointing = this.#checkpointThread
      .request({ type: 'checkpoint', restartAbove: RESTART_ABOVE_FRAMES })
      .then(async (reply) => {
        if ('error' in reply) throw fromWire(reply.error);
      })
      .catch(async () => {
        // Back to SQLite's own checkpoints after each commit: slower, but the WAL stays bounded.
        if (!this.#closed) this.db.pragma('wal_autocheckpoint = 1000');
        await this.#commitThread?.request({ type: 'autocheckpoint', pages: 1000 }).catch(() => undefined);
      })
      .finally(() => {
        this.#checkpointing = undefined;
      });
  }
}
