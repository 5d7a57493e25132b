/** Writes to the SQLite index whose loss in a crash does not matter. */
import type { Database as Db } from 'better-sqlite3';

/**
 * Runs `run` with `PRAGMA synchronous = NORMAL` on `db` and puts FULL back afterwards, even if it
 * throws. In WAL mode a commit under NORMAL does not wait for an fsync: it may be lost in a power
 * failure but never leaves the database inconsistent, and the next FULL commit syncs it too. Only
 * for writes whose loss in a crash does not matter (see MailStore's maildrop locks).
 */
export function withoutSync<T>(db: Db, run: () => T): T {
  // db.pragma, not a prepared statement: SQLite applies this pragma when it compiles it.
  db.pragma('synchronous = NORMAL');
  try {
    return run();
  } finally {
    db.pragma('synchronous = FULL');
  }
}
