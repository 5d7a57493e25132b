/**
 * The POP3 maildrop lock, kept in the database so every process sharing the store sees it (two
 * POP3 instances overlap during a restart). A lock records its holder's pid and process start
 * time; a lock whose process is gone (exited, or killed with SIGKILL) counts as free.
 */
import type { Database, Statement } from 'better-sqlite3';
import { isProcessAlive, selfStartTime } from './process-identity.js';

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
