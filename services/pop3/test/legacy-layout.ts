/**
 * A data dir as Hearth wrote it before accounts had their own package: the mail store's schema 2
 * (users with their scrypt hashes and APOP secrets inside DATA/mail/store.db), two users, and
 * mail for alice (one body inline, one in a file under bodies/). The schema is the store's
 * migrations 1 and 2, unchanged since; the hashes were written by that version's `addUser`.
 */
import Database from 'better-sqlite3';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS } from '@hearth/mail-store';

/** `addUser('alice', 'alice-pw')` with the default parameters (N=2^15, r=8, p=1). */
const ALICE_HASH = '$scrypt$ln=15,r=8,p=1$rScLzIly4btzieSH8N+1pw$DHaVL4SGOKbj8vUnhY5EJuufZ8JvTR3TgYN5YQvhC4I';
/** `addUser('bob', 'bob-pw')` with `passwordParams: { ln: 4, r: 8, p: 1 }`. */
const BOB_HASH = '$scrypt$ln=4,r=8,p=1$fbz/5CyTby/p2INOqojGLg$f0u6kp6SiLD0NvuyHixBSanpA5ZlYqv90bw6CzeS6U0';

export const LEGACY = {
  users: { alice: 'alice-pw', bob: 'bob-pw' },
  apop: { alice: 'alice-apop' },
  uidValidity: 1796319378,
  small: 'Subject: one\r\n\r\nfirst\r\n',
  large: `Subject: two\r\n\r\n${`${'x'.repeat(70)}\r\n`.repeat(1500)}`,
} as const;

const BODY_FILE = join('20261203', '4242.1000.legacy');

/** Writes DATA/mail as the old store left it; returns nothing, DATA is `dataDir`. */
export function writeLegacyDataDir(dataDir: string): void {
  const mail = join(dataDir, 'mail');
  mkdirSync(join(mail, 'bodies', '20261203'), { recursive: true });
  mkdirSync(join(mail, 'tmp'), { recursive: true });
  writeFileSync(join(mail, 'bodies', BODY_FILE), LEGACY.large, { mode: 0o600 });
  const db = new Database(join(mail, 'store.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    for (const migration of MIGRATIONS.filter((m) => m.version <= 2)) db.exec(migration.sql);
    db.pragma('user_version = 2');
    const v = LEGACY.uidValidity;
    db.exec(`
      INSERT INTO meta (key, value) VALUES ('last_uid_validity', ${v + 1});
      INSERT INTO users (id, name, password_hash, created_at, updated_at) VALUES
        (1, 'alice', '${ALICE_HASH}', 1796319378298, 1796319378298),
        (2, 'bob', '${BOB_HASH}', 1796319378308, 1796319378308);
      INSERT INTO apop_secrets (user_id, secret, updated_at) VALUES (1, '${LEGACY.apop.alice}', 1796319378299);
      INSERT INTO mailboxes (id, user_id, name, uid_validity, uid_next, created_at, expunged) VALUES
        (1, 1, 'INBOX', ${v}, 4, 1796319378298, 1),
        (2, 2, 'INBOX', ${v + 1}, 1, 1796319378308, 0);`);
    db.prepare('INSERT INTO bodies (id, file, data, size, created_at) VALUES (1, NULL, ?, ?, 1796319378313)').run(
      Buffer.from(LEGACY.small),
      Buffer.byteLength(LEGACY.small),
    );
    db.prepare('INSERT INTO bodies (id, file, data, size, created_at) VALUES (2, ?, NULL, ?, 1796319378320)').run(
      BODY_FILE,
      Buffer.byteLength(LEGACY.large),
    );
    // uid 2 was delivered and deleted before (expunged 1): the UIDs keep their gap.
    db.exec(`INSERT INTO messages (id, mailbox_id, uid, body_id, size, arrived_at) VALUES
      (1, 1, 1, 1, ${Buffer.byteLength(LEGACY.small)}, 1796319378313),
      (3, 1, 3, 2, ${Buffer.byteLength(LEGACY.large)}, 1796319378320);`);
  } finally {
    db.close();
  }
}
