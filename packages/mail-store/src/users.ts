/**
 * The users the store keeps mail for: one row per name, each with its maildrop (mailbox INBOX).
 * Who a user is (credentials, groups) is @hearth/accounts' business; here a user is a name that owns
 * a maildrop. Pure SQL over one connection; no I/O besides it.
 */
import type { Database, Statement } from 'better-sqlite3';
import { MailStoreError } from './errors.js';

export interface MaildropInfo {
  /** The owner's (canonical) user name. */
  readonly name: string;
  readonly createdAt: Date;
  /** Messages in the maildrop and their total size in bytes. */
  readonly messages: number;
  readonly size: number;
}

export interface UserRow {
  readonly id: number;
  readonly name: string;
}

export const MAILDROP = 'INBOX';

export class UserTable {
  readonly #db: Database;
  readonly #byName: Statement<[string], UserRow>;

  constructor(db: Database) {
    this.#db = db;
    this.#byName = db.prepare('SELECT id, name FROM users WHERE name = ?');
  }

  find(name: string): UserRow | undefined {
    return this.#byName.get(name);
  }

  get(name: string): UserRow {
    const row = this.find(name);
    if (!row) throw new MailStoreError('NO_SUCH_USER', `no such user: ${name}`);
    return row;
  }

  /** Creates the user's maildrop unless it exists; returns whether it was created. */
  ensure(name: string, now: number): boolean {
    const db = this.#db;
    return db
      .transaction(() => {
        if (this.find(name)) return false;
        const { lastInsertRowid } = db.prepare('INSERT INTO users (name, created_at, updated_at) VALUES (?, ?, ?)').run(name, now, now);
        db.prepare('INSERT INTO mailboxes (user_id, name, uid_validity, created_at) VALUES (?, ?, ?, ?)').run(
          lastInsertRowid,
          MAILDROP,
          this.#nextUidValidity(now),
          now,
        );
        return true;
      })
      .immediate();
  }

  /**
   * UIDVALIDITY is the creation time in seconds, but always above any value handed out before:
   * a user deleted and re-created within one second must not see old UIDLs again.
   */
  #nextUidValidity(now: number): number {
    const last =
      (this.#db.prepare("SELECT value FROM meta WHERE key = 'last_uid_validity'").pluck().get() as number | undefined) ?? 0;
    const next = Math.min(Math.max(Math.floor(now / 1000), last + 1), 0xffffffff);
    this.#db
      .prepare("INSERT INTO meta (key, value) VALUES ('last_uid_validity', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
      .run(next);
    return next;
  }

  list(): MaildropInfo[] {
    const rows = this.#db
      .prepare(
        `SELECT u.name, u.created_at,
                (SELECT COUNT(*) FROM messages m WHERE m.mailbox_id = b.id) AS messages,
                (SELECT COALESCE(SUM(m.size), 0) FROM messages m WHERE m.mailbox_id = b.id) AS size
           FROM users u
           JOIN mailboxes b ON b.user_id = u.id AND b.name = '${MAILDROP}'
          ORDER BY u.name`,
      )
      .all() as { name: string; created_at: number; messages: number; size: number }[];
    return rows.map((row) => ({ name: row.name, createdAt: new Date(row.created_at), messages: row.messages, size: row.size }));
  }
}
