/** The account rows, their groups and APOP secrets: plain SQL over one connection. */
import type { Database, Statement } from 'better-sqlite3';
import { AccountsError } from './errors.js';

/** What an account is, as every service sees it (no hash, no secret). */
export interface Account {
  readonly name: string;
  /** Group names, sorted. */
  readonly groups: readonly string[];
  readonly admin: boolean;
  /** Whether an APOP secret is set. */
  readonly apop: boolean;
  readonly createdAt: Date;
  /** Set while the account may not log in (`Accounts.disable`): since when, and why if said. */
  readonly disabled: Disabled | undefined;
}

export interface Disabled {
  readonly since: Date;
  readonly reason: string | undefined;
}

export interface AccountRow {
  readonly name: string;
  readonly password_hash: string;
  /** NULL: the account may log in. */
  readonly disabled_at: number | null;
  readonly disabled_reason: string | null;
  /** How many times the account was disabled or enabled (part of the credential stamp). */
  readonly access_changes: number;
}

interface ListedRow {
  readonly name: string;
  readonly admin: number;
  readonly apop: number;
  readonly created_at: number;
  readonly groups: string | null;
  readonly disabled_at: number | null;
  readonly disabled_reason: string | null;
}

const SELECT_ACCOUNTS = `
  SELECT a.name, a.admin, a.created_at, a.disabled_at, a.disabled_reason, s.account IS NOT NULL AS apop,
         (SELECT group_concat(group_name, ',') FROM (SELECT group_name FROM account_groups g WHERE g.account = a.name ORDER BY group_name)) AS groups
    FROM accounts a LEFT JOIN apop_secrets s ON s.account = a.name`;

const toAccount = (row: ListedRow): Account => ({
  name: row.name,
  groups: row.groups === null ? [] : row.groups.split(','),
  admin: row.admin === 1,
  apop: row.apop === 1,
  createdAt: new Date(row.created_at),
  disabled: disabledOf(row),
});

export const disabledOf = (row: { readonly disabled_at: number | null; readonly disabled_reason: string | null }): Disabled | undefined =>
  row.disabled_at === null ? undefined : { since: new Date(row.disabled_at), reason: row.disabled_reason ?? undefined };

export class AccountTable {
  readonly #db: Database;
  readonly #credentials: Statement<[string], AccountRow>;
  readonly #one: Statement<[string], ListedRow>;
  readonly #all: Statement<[], ListedRow>;
  readonly #anyAdmin: Statement<[], { readonly found: number }>;
  readonly #lastAdmin: Statement<[{ readonly name: string }], { readonly last: number }>;

  constructor(db: Database) {
    this.#db = db;
    this.#credentials = db.prepare('SELECT name, password_hash, disabled_at, disabled_reason, access_changes FROM accounts WHERE name = ?');
    this.#one = db.prepare(`${SELECT_ACCOUNTS} WHERE a.name = ?`);
    this.#all = db.prepare(`${SELECT_ACCOUNTS} ORDER BY a.name`);
    this.#anyAdmin = db.prepare('SELECT EXISTS (SELECT 1 FROM accounts WHERE admin = 1 AND disabled_at IS NULL) AS found');
    // Whether the account is an administrator and no other one is enabled.
    this.#lastAdmin = db.prepare(
      'SELECT (SELECT admin FROM accounts WHERE name = @name) = 1 AND NOT EXISTS (SELECT 1 FROM accounts WHERE admin = 1 AND disabled_at IS NULL AND name != @name) AS last',
    );
  }

  credentials(name: string): AccountRow | undefined {
    return this.#credentials.get(name);
  }

  find(name: string): Account | undefined {
    const row = this.#one.get(name);
    return row === undefined ? undefined : toAccount(row);
  }

  list(): Account[] {
    return this.#all.all().map(toAccount);
  }

  hasAdmin(): boolean {
    return this.#anyAdmin.get()?.found === 1;
  }

  insert(name: string, passwordHash: string, now: number): void {
    this.#db
      .transaction(() => {
        if (this.credentials(name)) throw new AccountsError('USER_EXISTS', `user ${name} already exists`);
        this.#db.prepare('INSERT INTO accounts (name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)').run(name, passwordHash, now, now);
      })
      .immediate();
  }

  #update(name: string, sql: string, ...values: (string | number | null)[]): void {
    const { changes } = this.#db.prepare(`UPDATE accounts SET ${sql}, updated_at = ? WHERE name = ?`).run(...values, Date.now(), name);
    if (changes === 0) throw noSuchUser(name);
  }

  setPasswordHash(name: string, passwordHash: string): void {
    this.#update(name, 'password_hash = ?', passwordHash);
  }

  setAdmin(name: string, admin: boolean): void {
    this.#update(name, 'admin = ?', admin ? 1 : 0);
  }

  /**
   * Disables the account with `reason` (NULL: none; undefined: none, or the one it has when it is
   * disabled already); one already disabled keeps its time. True when it was enabled before.
   * LAST_ADMIN for the last enabled administrator (checked in the same transaction).
   */
  disable(name: string, reason: string | null | undefined): boolean {
    return this.#db
      .transaction(() => {
        const row = this.credentials(name);
        if (row === undefined) throw noSuchUser(name);
        if (row.disabled_at !== null) {
          if (reason !== undefined) this.#update(name, 'disabled_reason = ?', reason);
          return false;
        }
        if (this.#lastAdmin.get({ name })?.last === 1) {
          throw new AccountsError('LAST_ADMIN', `${name} is the last administrator who can sign in: make another account an administrator first`);
        }
        this.#update(name, 'disabled_at = ?, disabled_reason = ?, access_changes = access_changes + 1', Date.now(), reason ?? null);
        return true;
      })
      .immediate();
  }

  /** Lets a disabled account log in again; true when it was disabled. */
  enable(name: string): boolean {
    return this.#db
      .transaction(() => {
        const row = this.credentials(name);
        if (row === undefined) throw noSuchUser(name);
        if (row.disabled_at === null) return false;
        this.#update(name, 'disabled_at = NULL, disabled_reason = NULL, access_changes = access_changes + 1');
        return true;
      })
      .immediate();
  }

  setGroups(name: string, groups: readonly string[]): void {
    this.#db
      .transaction(() => {
        this.#update(name, 'admin = admin');
        this.#db.prepare('DELETE FROM account_groups WHERE account = ?').run(name);
        const insert = this.#db.prepare('INSERT OR IGNORE INTO account_groups (account, group_name) VALUES (?, ?)');
        for (const group of groups) insert.run(name, group);
      })
      .immediate();
  }

  remove(name: string): void {
    const { changes } = this.#db.prepare('DELETE FROM accounts WHERE name = ?').run(name);
    if (changes === 0) throw noSuchUser(name);
  }

  setApopSecret(name: string, secret: string): void {
    if (!this.credentials(name)) throw noSuchUser(name);
    this.#db
      .prepare(
        'INSERT INTO apop_secrets (account, secret, updated_at) VALUES (?, ?, ?) ON CONFLICT (account) DO UPDATE SET secret = excluded.secret, updated_at = excluded.updated_at',
      )
      .run(name, secret, Date.now());
  }

  clearApopSecret(name: string): boolean {
    if (!this.credentials(name)) throw noSuchUser(name);
    return this.#db.prepare('DELETE FROM apop_secrets WHERE account = ?').run(name).changes > 0;
  }

  getApopSecret(name: string): string | undefined {
    return this.#db.prepare('SELECT secret FROM apop_secrets WHERE account = ?').pluck().get(name) as string | undefined;
  }
}

export const noSuchUser = (name: string): AccountsError => new AccountsError('NO_SUCH_USER', `no such user: ${name}`);
