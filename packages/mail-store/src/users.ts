/** User rows, password hashes and APOP secrets. Pure SQL over one connection; no I/O besides it. */
import type { Database, Statement } from 'better-sqlite3';
import { MailStoreError } from './errors.js';

export interface UserInfo {
  readonly name: string;
  readonly createdAt: Date;
  /** Messages in the user's maildrop and their total size in bytes. */
  readonly messages: number;
  readonly size: number;
  /** Whether an APOP secret is set. */
  readonly apop: boolean;
}

export interface UserRow {
  readonly id: number;
  readonly name: string;
  readonly password_hash: string;
}

export const MAILDROP = 'INBOX';

export function validatePassword(password: string, what = 'password'): void {
  if (password.length === 0) throw new MailStoreError('BAD_PASSWORD', `the ${what} is empty`);
  if (password.length > 1024) throw new MailStoreError('BAD_PASSWORD', `the ${what} is longer than 1024 characters`);
  if (/[\0\r\n]/.test(password)) {
    throw new MailStoreError('BAD_PASSWORD', `the ${what} contains a NUL, CR or LF character`);
  }
}

export class UserTable {
  readonly #db: Database;
  readonly #byName: Statement<[string], UserRow>;

  constructor(db: Database) {
    this.#db = db;
    this.#byName = db.prepare('SELECT id, name, password_hash FROM users WHERE name = ?');
  }

  find(name: string): UserRow | undefined {
    return this.#byName.get(name);
  }

  get(name: string): UserRow {
    const row = this.find(name);
    if (!row) throw new MailStoreError('NO_SUCH_USER', `no such user: ${name}`);
    return row;
  }

  insert(name: string, passwordHash: string, now: number): void {
    const db = this.#db;
    db.transaction(() => {
      if (this.find(name)) throw new MailStoreError('USER_EXISTS', `user ${name} already exists`);
      const { lastInsertRowid } = db
        .prepare('INSERT INTO users (name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)')
        .run(name, passwordHash, now, now);
      db.prepare('INSERT INTO mailboxes (user_id, name, uid_validity, created_at) VALUES (?, ?, ?, ?)').run(
        lastInsertRowid,
        MAILDROP,
        this.#nextUidValidity(now),
        now,
      );
    }).immediate();
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

  setPasswordHash(name: string, passwordHash: string, now: number): void {
    const { changes } = this.#db
      .prepare('UPDATE users SET password_hash = ?, updated_at = ? WHERE name = ?')
      .run(passwordHash, now, name);
    if (changes === 0) throw new MailStoreError('NO_SUCH_USER', `no such user: ${name}`);
  }

  list(): UserInfo[] {
    const rows = this.#db
      .prepare(
        `SELECT u.name, u.created_at, a.user_id IS NOT NULL AS apop,
                (SELECT COUNT(*) FROM messages m WHERE m.mailbox_id = b.id) AS messages,
                (SELECT COALESCE(SUM(m.size), 0) FROM messages m WHERE m.mailbox_id = b.id) AS size
           FROM users u
           JOIN mailboxes b ON b.user_id = u.id AND b.name = '${MAILDROP}'
           LEFT JOIN apop_secrets a ON a.user_id = u.id
          ORDER BY u.name`,
      )
      .all() as { name: string; created_at: number; apop: number; messages: number; size: number }[];
    return rows.map((row) => ({
      name: row.name,
      createdAt: new Date(row.created_at),
      messages: row.messages,
      size: row.size,
      apop: row.apop === 1,
    }));
  }

  setApopSecret(name: string, secret: string, now: number): void {
    const user = this.get(name);
    this.#db
      .prepare(
        'INSERT INTO apop_secrets (user_id, secret, updated_at) VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, updated_at = excluded.updated_at',
      )
      .run(user.id, secret, now);
  }

  clearApopSecret(name: string): boolean {
    const user = this.get(name);
    return this.#db.prepare('DELETE FROM apop_secrets WHERE user_id = ?').run(user.id).changes > 0;
  }

  getApopSecret(name: string): string | undefined {
    return this.#db
      .prepare('SELECT a.secret FROM apop_secrets a JOIN users u ON u.id = a.user_id WHERE u.name = ?')
      .pluck()
      .get(name) as string | undefined;
  }
}
