/**
 * Sessions, kept in `DATA/admin/sessions.db` (SQLite, WAL), so that a restart or an upgrade of the
 * service signs nobody out, and the two instances that run side by side for a moment during one
 * (the new one serving new connections, the old one finishing its own) see the same sessions: no
 * copy is kept in memory. A random id (the cookie) names a session whose state is one union,
 * anonymous or signed in. Signing in makes a new session with a new id and a new CSRF token and
 * forgets the old one (no fixation); a session unused for `idleMs` is gone; at most `max` are
 * kept, the least recently used dropped first. A signed-in session keeps the account's credential
 * stamp of its sign-in (`Accounts.credentialStamp`): the request that finds another one (the
 * password set since, or the account deleted, from the page or by `hearth user`) is signed out.
 *
 * The cookie value itself is never written: rows are keyed by its SHA-256, so the file gives no
 * usable cookie. A session's last use is written when it is older than a hundredth of `idleMs`
 * (at most a minute), not at every request, and not at all while the disk is full (a signed-in
 * session keeps working); its notice (the next page's one-time message) when a request changed it
 * (`save`). Ending sessions (signing out, a user's other sessions after a password change or the
 * user's deletion) goes through on a full disk too: `DATA/admin/reserve` (`@hearth/sqlite`'s
 * `SpaceReserve`) is given up for it, and written again once there is room.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Database as Db, Statement } from 'better-sqlite3';
import { isDiskFull, openDatabase, SpaceReserve, type Schema } from '@hearth/sqlite';

export type SessionState =
  | { readonly kind: 'anonymous' }
  | {
      readonly kind: 'signed-in';
      readonly user: string;
      readonly since: number;
      /** The account's credential stamp at sign-in; undefined for a session signed in before stamps were kept. */
      readonly stamp: string | undefined;
    };

/** A one-time message shown on the next page (the result of a form). */
export interface Notice {
  readonly kind: 'ok' | 'error';
  readonly text: string;
  /** Lines shown under the text (a refused config's problems, one per line). */
  readonly details?: readonly string[];
}

export interface Session {
  readonly id: string;
  readonly state: SessionState;
  /** The token every form of this session carries. */
  readonly csrf: string;
  lastSeen: number;
  notice: Notice | undefined;
}

export const COOKIE_NAME = '__Host-hearth-admin';

const token = (): string => randomBytes(32).toString('base64url');

const hashOf = (id: string): string => createHash('sha256').update(id).digest('hex');

const SCHEMA: Schema = {
  name: 'admin sessions',
  migrations: [
    {
      version: 1,
      description: 'sessions by the hash of their cookie',
      sql: `
        CREATE TABLE sessions (
          seq INTEGER PRIMARY KEY,
          id_hash TEXT NOT NULL UNIQUE,
          user TEXT,
          since INTEGER,
          csrf TEXT NOT NULL,
          last_seen INTEGER NOT NULL,
          notice TEXT
        );
        CREATE INDEX sessions_by_last_seen ON sessions (last_seen, seq);
        CREATE INDEX sessions_by_user ON sessions (user);
      `,
    },
    {
      version: 2,
      description: "the account's credential stamp at sign-in",
      sql: 'ALTER TABLE sessions ADD COLUMN stamp TEXT;',
    },
  ],
  tooNew: (message) => new Error(message),
};

interface Row {
  id_hash: string;
  user: string | null;
  since: number | null;
  stamp: string | null;
  csrf: string;
  last_seen: number;
  notice: string | null;
}

export class Sessions {
  readonly #db: Db;
  readonly #find: Statement<[string], Row>;
  readonly #insert: Statement<[Row]>;
  readonly #touch: Statement<[number, string]>;
  readonly #setNotice: Statement<[string | null, string]>;
  readonly #setStamp: Statement<[string, string]>;
  readonly #remove: Statement<[string]>;
  readonly #removeUser: Statement<[string, string]>;
  readonly #removeIdle: Statement<[number]>;
  readonly #removeOldest: Statement<[number]>;
  readonly #count: Statement<[number], number>;
  readonly #add: (row: Row) => void;
  /** The notice each session was read or made with (its JSON), to write only a changed one. */
  readonly #storedNotice = new WeakMap<Session, string | null>();
  /** The room given up for ending sessions on a full disk (`reserve` beside the database). */
  readonly #reserve: SpaceReserve;
  /** Settles once the reserve is written, or found to have no room. */
  readonly reserved: Promise<void>;

  /** Opens (creating if needed) the sessions database at `file`. */
  constructor(
    file: string,
    private idleMs: number,
    private max: number,
    private readonly now: () => number = Date.now,
  ) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // Readable by this user only; SQLite gives its -wal and -shm files the same mode.
    closeSync(openSync(file, 'a', 0o600));
    this.#db = openDatabase(file, 5000, SCHEMA);
    this.#reserve = new SpaceReserve(join(dirname(file), 'reserve'));
    this.reserved = this.#reserve.ensure().then(() => {});
    this.#find = this.#db.prepare<[string], Row>('SELECT id_hash, user, since, stamp, csrf, last_seen, notice FROM sessions WHERE id_hash = ?');
    this.#insert = this.#db.prepare<[Row]>(
      'INSERT INTO sessions (id_hash, user, since, stamp, csrf, last_seen, notice) VALUES (@id_hash, @user, @since, @stamp, @csrf, @last_seen, @notice)',
    );
    this.#touch = this.#db.prepare<[number, string]>('UPDATE sessions SET last_seen = ? WHERE id_hash = ?');
    this.#setNotice = this.#db.prepare<[string | null, string]>('UPDATE sessions SET notice = ? WHERE id_hash = ?');
    this.#setStamp = this.#db.prepare<[string, string]>('UPDATE sessions SET stamp = ? WHERE id_hash = ?');
    this.#remove = this.#db.prepare<[string]>('DELETE FROM sessions WHERE id_hash = ?');
    this.#removeUser = this.#db.prepare<[string, string]>('DELETE FROM sessions WHERE user = ? AND id_hash != ?');
    this.#removeIdle = this.#db.prepare<[number]>('DELETE FROM sessions WHERE last_seen < ?');
    this.#removeOldest = this.#db.prepare<[number]>('DELETE FROM sessions WHERE seq IN (SELECT seq FROM sessions ORDER BY last_seen, seq LIMIT ?)');
    this.#count = this.#db.prepare<[number], number>('SELECT count(*) FROM sessions WHERE last_seen >= ?').pluck();
    // A new session, then the idle ones dropped and the least recently used past `max`.
    this.#add = this.#db.transaction((row: Row) => {
      this.#insert.run(row);
      this.#removeIdle.run(row.last_seen - this.idleMs);
      const over = this.#count.get(row.last_seen - this.idleMs)! - this.max;
      if (over > 0) this.#removeOldest.run(over);
    });
  }

  /** Sessions not idle too long. */
  get size(): number {
    return this.#count.get(this.now() - this.idleMs)!;
  }

  update(idleMs: number, max: number): void {
    this.idleMs = idleMs;
    this.max = max;
  }

  /** The live session with this id (touched), or undefined when unknown or idle too long. */
  get(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const hash = hashOf(id);
    const row = this.#find.get(hash);
    if (row === undefined) return undefined;
    const now = this.now();
    if (now - row.last_seen > this.idleMs) {
      unlessDiskFull(() => this.#remove.run(hash));
      return undefined;
    }
    // On a full disk the last use waits for a request that can write it: the session goes on.
    if (now - row.last_seen >= Math.min(60_000, this.idleMs / 100)) unlessDiskFull(() => this.#touch.run(now, hash));
    const state: SessionState = row.user === null ? { kind: 'anonymous' } : { kind: 'signed-in', user: row.user, since: row.since ?? 0, stamp: row.stamp ?? undefined };
    const session: Session = { id, state, csrf: row.csrf, lastSeen: now, notice: row.notice === null ? undefined : (JSON.parse(row.notice) as Notice) };
    this.#storedNotice.set(session, row.notice);
    return session;
  }

  create(state: SessionState = { kind: 'anonymous' }): Session {
    const session: Session = { id: token(), state, csrf: token(), lastSeen: this.now(), notice: undefined };
    const signedIn = state.kind === 'signed-in';
    this.#add({
      id_hash: hashOf(session.id),
      user: signedIn ? state.user : null,
      since: signedIn ? state.since : null,
      stamp: signedIn ? (state.stamp ?? null) : null,
      csrf: session.csrf,
      last_seen: session.lastSeen,
      notice: null,
    });
    this.#storedNotice.set(session, null);
    return session;
  }

  /** An anonymous session that is not kept (requests of routes without a session). */
  ephemeral(): Session {
    return { id: '', state: { kind: 'anonymous' }, csrf: token(), lastSeen: this.now(), notice: undefined };
  }

  /** A new signed-in session replacing `old` (which is forgotten); `stamp`: the account's credential stamp now. */
  async signIn(old: Session, user: string, stamp: string | undefined): Promise<Session> {
    await this.end(old);
    return this.create({ kind: 'signed-in', user, since: this.now(), stamp });
  }

  /**
   * Keeps `session` signed in under the account's new credential stamp: its own user changed the
   * password, or a session signed in before stamps were kept takes the stamp of now. On a full
   * disk it is left unwritten (the first is then signed out, the second asked again next time).
   */
  restamp(session: Session, stamp: string): void {
    if (session.id !== '') unlessDiskFull(() => this.#setStamp.run(stamp, hashOf(session.id)));
  }

  async end(session: Session): Promise<void> {
    if (session.id !== '') await this.#ending(() => this.#remove.run(hashOf(session.id)));
  }

  /** Ends every session of `user` (deleted, or the password changed elsewhere) but `keep`. */
  async endUser(user: string, keep?: Session): Promise<void> {
    await this.#ending(() => this.#removeUser.run(user, keep === undefined || keep.id === '' ? '' : hashOf(keep.id)));
  }

  /** A write that ends sessions: on a full disk, the reserve's room is given up for it. */
  async #ending(write: () => unknown): Promise<void> {
    await this.#reserve.freeing(write);
    await this.#reserve.ensure();
  }

  /** Writes what a request changed in `session` (its notice); nothing for one not kept or gone since. */
  save(session: Session): void {
    if (session.id === '') return;
    const notice = session.notice === undefined ? null : JSON.stringify(session.notice);
    if (notice === this.#storedNotice.get(session)) return;
    this.#setNotice.run(notice, hashOf(session.id));
    this.#storedNotice.set(session, notice);
  }

  close(): void {
    this.#db.close();
  }
}

/** Runs a write that may wait for a later request: one that fails for a full disk is left undone. */
function unlessDiskFull(write: () => unknown): void {
  try {
    write();
  } catch (error) {
    if (!isDiskFull(error)) throw error;
  }
}

/** Whether a submitted token is the session's (constant time). */
export function csrfMatches(session: Session, submitted: string | null): boolean {
  if (submitted === null) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(submitted);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The session id from a Cookie header. */
export function sessionIdOf(cookieHeader: string | undefined): string | undefined {
  if (cookieHeader === undefined) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === COOKIE_NAME) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(session: Session): string {
  return `${COOKIE_NAME}=${session.id}; Path=/; Secure; HttpOnly; SameSite=Strict`;
}
