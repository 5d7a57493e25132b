/**
 * The POP3 maildrop lock, kept in the database so every process sharing the store sees it (two
 * POP3 instances overlap during a restart). A lock records its holder's pid and process start
 * time; a lock whose process is gone (exited, or killed with SIGKILL) counts as free.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { StoreCore } from './core.js';
import type { Maildrop } from './messages.js';
import { normalizeUserName } from './names.js';
import { isProcessAlive, selfStartTime } from '@hearth/process';

export interface LockHolder {
  readonly holder: string;
  readonly pid: number;
  readonly acquiredAt: Date;
}

interface LockRow {
  holder: string;
  pid: number;
  pid_start: string;
  acquired_at: number;
}

export class MaildropLocks {
  readonly #select: Statement<[number], LockRow>;
  readonly #upsert: Statement<[number, string, number, string, number]>;
  readonly #delete: Statement<[number, string, number]>;

  constructor(db: Database) {
    // Prepared once: a POP3 login takes and releases a lock, so these run twice per session.
    this.#select = db.prepare('SELECT holder, pid, pid_start, acquired_at FROM maildrop_locks WHERE mailbox_id = ?');
    this.#upsert = db.prepare(
      `INSERT INTO maildrop_locks (mailbox_id, holder, pid, pid_start, acquired_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (mailbox_id) DO UPDATE SET holder = excluded.holder, pid = excluded.pid,
         pid_start = excluded.pid_start, acquired_at = excluded.acquired_at`,
    );
    this.#delete = db.prepare('DELETE FROM maildrop_locks WHERE mailbox_id = ? AND holder = ? AND pid = ?');
  }

  /** The live holder of a maildrop's lock, if any. */
  holder(maildropId: number): LockHolder | undefined {
    const row = this.#select.get(maildropId);
    if (!row || !isProcessAlive(row.pid, row.pid_start)) return undefined;
    return { holder: row.holder, pid: row.pid, acquiredAt: new Date(row.acquired_at) };
  }

  /**
   * Takes the lock for (`holder`, this process) unless another live holder has it. Run it inside
   * an IMMEDIATE transaction, so the check and the write are one step for every process.
   */
  take(maildropId: number, holder: string, now: number): boolean {
    const current = this.holder(maildropId);
    if (current) return current.holder === holder && current.pid === process.pid;
    this.#upsert.run(maildropId, holder, process.pid, selfStartTime(), now);
    return true;
  }

  /** Releases the lock if (`holder`, this process) has it; returns whether it did. */
  unlock(maildropId: number, holder: string): boolean {
    return this.#delete.run(maildropId, holder, process.pid).changes > 0;
  }
}

/** The holder id in a `user\0holder` key. */
const holderOf = (key: string): string => key.slice(key.indexOf('\0') + 1);

/**
 * The MailStore's lock methods of the same names: locks taken through one store, by user and
 * holder id, remembered here so unlocking needs no lookup and `close` can release them.
 */
export class MaildropLocking {
  readonly #core: StoreCore;
  readonly #locks: MaildropLocks;
  /** The maildrop id of each lock taken here, by `user\0holder`: unlocking needs no lookup. */
  readonly #heldLocks = new Map<string, number>();
  /**
   * Releases the disk refused (full, past the space reserve), by `user\0holder`: made with the next
   * lock taken here, and at close. Otherwise the maildrop of a session that has ended would stay
   * locked for as long as this process runs (its pid is the holder's).
   */
  readonly #unreleased = new Map<string, number>();
  readonly #lock: (user: string, holderId: string, now: number, unreleased: ReadonlyMap<string, number>) => Maildrop | undefined;

  constructor(core: StoreCore, locks: MaildropLocks) {
    this.#core = core;
    this.#locks = locks;
    // The maildrop (and its version) is read under the write lock, so it is the one locked.
    this.#lock = core.db.transaction((user: string, holderId: string, now: number, unreleased: ReadonlyMap<string, number>): Maildrop | undefined => {
      for (const [key, maildropId] of unreleased) this.#locks.unlock(maildropId, holderOf(key));
      const maildrop = core.messages.getMaildrop(user);
      return this.#locks.take(maildrop.id, holderId, now) ? maildrop : undefined;
    }).immediate;
  }

  maildropVersion(name: string): string {
    this.#core.assertOpen();
    return this.#core.messages.getMaildrop(normalizeUserName(name)).version;
  }

  tryLockMaildrop(name: string, holderId: string): boolean {
    return this.lockMaildrop(name, holderId) !== undefined;
  }

  lockMaildrop(name: string, holderId: string): { readonly version: string } | undefined {
    this.#core.assertOpen();
    const user = normalizeUserName(name);
    const unreleased = new Map(this.#unreleased);
    const maildrop = this.#core.writeUnsynced('locking a maildrop', () => this.#lock(user, holderId, Date.now(), unreleased));
    this.#released(unreleased);
    if (maildrop === undefined) return undefined;
    this.#heldLocks.set(`${user}\0${holderId}`, maildrop.id);
    return { version: maildrop.version };
  }

  unlockMaildrop(name: string, holderId: string): void {
    this.#core.assertOpen();
    const user = normalizeUserName(name);
    const maildropId = this.#forgetLock(user, holderId);
    if (maildropId === undefined) return;
    try {
      this.#core.writeUnsynced('unlocking a maildrop', () => this.#locks.unlock(maildropId, holderId));
    } catch (error) {
      this.#unreleased.set(`${user}\0${holderId}`, maildropId);
      throw error;
    }
  }

  async acquireMaildrop(name: string, holderId: string): Promise<{ readonly version: string } | undefined> {
    this.#core.assertOpen();
    const user = normalizeUserName(name);
    // A full disk must not keep a user out, nor a lock in: both may use the space reserve.
    const unreleased = new Map(this.#unreleased);
    const { result: maildrop } = await this.#core.reserve.freeing(() =>
      this.#core.writeWhenFree('locking a maildrop', () => this.#lock(user, holderId, Date.now(), unreleased)),
    );
    this.#released(unreleased);
    if (maildrop === undefined) return undefined;
    this.#heldLocks.set(`${user}\0${holderId}`, maildrop.id);
    return { version: maildrop.version };
  }

  async releaseMaildrop(name: string, holderId: string): Promise<void> {
    this.#core.assertOpen();
    const user = normalizeUserName(name);
    const maildropId = this.#forgetLock(user, holderId);
    if (maildropId === undefined) return;
    try {
      await this.#core.reserve.freeing(() => this.#core.writeWhenFree('unlocking a maildrop', () => this.#locks.unlock(maildropId, holderId)));
    } catch (error) {
      this.#unreleased.set(`${user}\0${holderId}`, maildropId);
      throw error;
    }
  }

  maildropLockHolder(name: string): LockHolder | undefined {
    this.#core.assertOpen();
    return this.#locks.holder(this.#core.messages.getMaildrop(normalizeUserName(name)).id);
  }

  /** Releases every lock taken through this store, and those it still owes (on close). */
  releaseAll(): void {
    for (const [key, maildropId] of [...this.#heldLocks, ...this.#unreleased]) {
      try {
        this.#locks.unlock(maildropId, holderOf(key));
      } catch {
        // The holder's pid is this process: the lock is recognised as free once it exits anyway.
      }
    }
    this.#heldLocks.clear();
    this.#unreleased.clear();
  }

  /** The owed releases a lock's transaction made. */
  #released(made: ReadonlyMap<string, number>): void {
    for (const key of made.keys()) this.#unreleased.delete(key);
  }

  /** Forgets a lock taken here; returns its maildrop id (looked up if it was not taken here). */
  #forgetLock(user: string, holderId: string): number | undefined {
    const key = `${user}\0${holderId}`;
    const maildropId = this.#heldLocks.get(key) ?? this.#core.messages.maildrop(user)?.id;
    this.#heldLocks.delete(key);
    return maildropId;
  }
}
