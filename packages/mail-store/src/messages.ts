/** Message index rows: delivery inserts, POP3 listing and deletion. SQL only. */
import type { HearthNotice } from '@hearth/mail-delivery';
import type { Database, Statement } from 'better-sqlite3';
import { MailStoreError } from './errors.js';
import { MAILDROP } from './users.js';

export interface MessageInfo {
  /** Store-wide id of the message row: what `openBody` and `deleteMessages` take. */
  readonly messageId: number;
  /** Per-maildrop UID: assigned in arrival order, never changed, never reused. */
  readonly uid: number;
  /** Dovecot-compatible POP3 UIDL: `%08X%08X` of UID and UIDVALIDITY. */
  readonly uidl: string;
  /** Size in bytes with CRLF line ends, exactly the body file's size. */
  readonly size: number;
  readonly arrivedAt: Date;
}

/** One recipient's copy of a committed delivery: the new-mail notice smtp and pop3 announce as it is. */
export type Delivery = HearthNotice;

/** What a body row holds: the file under bodies/ or the bytes themselves. */
export interface StoredBody {
  readonly file?: string;
  readonly data?: Buffer;
  readonly size: number;
}

export interface Maildrop {
  readonly id: number;
  readonly uidValidity: number;
  /**
   * Changes whenever a message is added to or removed from the maildrop, and when the user is
   * deleted and created again: every delivery raises `uid_next`, every deletion `expunged` (a
   * trigger), so equal versions mean the same set of messages (sizes never change).
   */
  readonly version: string;
}

export function formatUidl(uid: number, uidValidity: number): string {
  const hex = (n: number): string => n.toString(16).toUpperCase().padStart(8, '0');
  return hex(uid) + hex(uidValidity);
}

export class MessageTable {
  readonly #db: Database;
  readonly #maildrop: Statement<[string], { id: number; uid_validity: number; uid_next: number; expunged: number }>;
  readonly #takeUid: Statement<[number], { uid: number }>;
  readonly #insertBody: Statement<[string | null, Buffer | null, number, number]>;
  readonly #insertMessage: Statement<[number, number, number, number, number]>;
  readonly #list: Statement<[number], { id: number; uid: number; size: number; arrived_at: number }>;
  readonly #body: Statement<[number], { file: string | null; data: Buffer | null; size: number }>;

  constructor(db: Database) {
    this.#db = db;
    this.#maildrop = db.prepare(
      `SELECT b.id, b.uid_validity, b.uid_next, b.expunged FROM mailboxes b JOIN users u ON u.id = b.user_id
       WHERE u.name = ? AND b.name = '${MAILDROP}'`,
    );
    this.#takeUid = db.prepare('UPDATE mailboxes SET uid_next = uid_next + 1 WHERE id = ? RETURNING uid_next - 1 AS uid');
    this.#insertBody = db.prepare('INSERT INTO bodies (file, data, size, created_at) VALUES (?, ?, ?, ?)');
    this.#insertMessage = db.prepare(
      'INSERT INTO messages (mailbox_id, uid, body_id, size, arrived_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.#list = db.prepare('SELECT id, uid, size, arrived_at FROM messages WHERE mailbox_id = ? ORDER BY uid');
    this.#body = db.prepare('SELECT b.file, b.data, b.size FROM messages m JOIN bodies b ON b.id = m.body_id WHERE m.id = ?');
  }

  maildrop(user: string): Maildrop | undefined {
    const row = this.#maildrop.get(user);
    return row && { id: row.id, uidValidity: row.uid_validity, version: `${row.id}.${row.uid_validity}.${row.uid_next}.${row.expunged}` };
  }

  getMaildrop(user: string): Maildrop {
    const maildrop = this.maildrop(user);
    if (!maildrop) throw new MailStoreError('NO_SUCH_USER', `no such user: ${user}`);
    return maildrop;
  }

  /** Inserts one body row and one message per user; run inside a transaction (all or nothing). */
  insertDelivery(users: readonly string[], body: StoredBody, arrivedAt: number): Delivery[] {
    const maildrops = users.map((user) => ({ user, maildrop: this.getMaildrop(user) }));
    const { lastInsertRowid } = this.#insertBody.run(body.file ?? null, body.data ?? null, body.size, arrivedAt);
    const bodyId = Number(lastInsertRowid);
    const size = body.size;
    return maildrops.map(({ user, maildrop }) => {
      const { uid } = this.#takeUid.get(maildrop.id) as { uid: number };
      const messageId = Number(this.#insertMessage.run(maildrop.id, uid, bodyId, size, arrivedAt).lastInsertRowid);
      return { source: 'hearth', user, maildrop: MAILDROP, messageId, uid, uidl: formatUidl(uid, maildrop.uidValidity), size };
    });
  }

  list(maildrop: Maildrop): MessageInfo[] {
    return this.#list.all(maildrop.id).map((row) => ({
      messageId: row.id,
      uid: row.uid,
      uidl: formatUidl(row.uid, maildrop.uidValidity),
      size: row.size,
      arrivedAt: new Date(row.arrived_at),
    }));
  }

  body(messageId: number): { file: string | null; data: Buffer | null; size: number } | undefined {
    return this.#body.get(messageId);
  }

  /**
   * Deletes messages of one maildrop (ids of other maildrops are ignored) and the body rows no
   * message references any more; returns the count and the body files to unlink after commit.
   */
  delete(maildropId: number, messageIds: readonly number[] | 'all'): { deleted: number; files: string[] } {
    const db = this.#db;
    const ids =
      messageIds === 'all'
        ? (db.prepare('SELECT id FROM messages WHERE mailbox_id = ?').pluck().all(maildropId) as number[])
        : messageIds;
    const bodyOf = db.prepare('SELECT body_id FROM messages WHERE id = ? AND mailbox_id = ?').pluck();
    const remove = db.prepare('DELETE FROM messages WHERE id = ?');
    const stillUsed = db.prepare('SELECT 1 FROM messages WHERE body_id = ? LIMIT 1').pluck();
    const dropBody = db.prepare('DELETE FROM bodies WHERE id = ? RETURNING file').pluck();
    // A body without a file (stored inline) returns null: nothing to unlink.
    const bodies = new Set<number>();
    let deleted = 0;
    for (const id of ids) {
      const bodyId = bodyOf.get(id, maildropId) as number | undefined;
      if (bodyId === undefined) continue;
      remove.run(id);
      bodies.add(bodyId);
      deleted++;
    }
    const files: string[] = [];
    for (const bodyId of bodies) {
      if (stillUsed.get(bodyId) !== undefined) continue;
      const file = dropBody.get(bodyId) as string | null | undefined;
      if (typeof file === 'string') files.push(file);
    }
    return { deleted, files };
  }

  count(maildropId: number): number {
    return this.#db.prepare('SELECT COUNT(*) FROM messages WHERE mailbox_id = ?').pluck().get(maildropId) as number;
  }

  allBodyFiles(): Set<string> {
    return new Set(this.#db.prepare('SELECT file FROM bodies WHERE file IS NOT NULL').pluck().all() as string[]);
  }
}
