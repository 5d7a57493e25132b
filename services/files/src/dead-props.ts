/**
 * Dead properties (PROPPATCH), kept in one SQLite database per data directory
 * (`DATA/files/props.db`, WAL) keyed by the resource's absolute file path, so they survive
 * restarts, follow COPY and MOVE (rows copied or renamed by path prefix) and go with DELETE.
 * Values are stored as self-contained XML fragments. A PROPFIND of a folder reads the props of
 * all its members with one range query.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface DeadProp {
  readonly ns: string;
  readonly name: string;
  /** Inner XML of the property element. */
  readonly value: string;
}

export type PropChange = { readonly op: 'set'; readonly prop: DeadProp } | { readonly op: 'remove'; readonly ns: string; readonly name: string };

/** `[from, to)` range covering every path strictly below `dir`. */
function below(dir: string): [string, string] {
  return [`${dir}/`, `${dir}0`];
}

export class DeadProps {
  readonly #db: Database.Database;
  readonly #get: Database.Statement<[string], { ns: string; name: string; value: string }>;
  readonly #children: Database.Statement<[string, string], { path: string; ns: string; name: string; value: string }>;
  readonly #set: Database.Statement<[string, string, string, string]>;
  readonly #remove: Database.Statement<[string, string, string]>;
  readonly #any: Database.Statement<[], { n: number }>;
  readonly #version: Database.Statement<[], number>;
  #empty: boolean;
  #emptyAt: number;

  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(
      'CREATE TABLE IF NOT EXISTS props (path TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (path, ns, name)) WITHOUT ROWID',
    );
    this.#get = this.#db.prepare('SELECT ns, name, value FROM props WHERE path = ?');
    this.#children = this.#db.prepare('SELECT path, ns, name, value FROM props WHERE path >= ? AND path < ?');
    this.#set = this.#db.prepare('INSERT OR REPLACE INTO props (path, ns, name, value) VALUES (?, ?, ?, ?)');
    this.#remove = this.#db.prepare('DELETE FROM props WHERE path = ? AND ns = ? AND name = ?');
    this.#any = this.#db.prepare('SELECT count(*) AS n FROM (SELECT 1 FROM props LIMIT 1)');
    this.#version = this.#db.prepare<[], number>('PRAGMA data_version').pluck();
    this.#emptyAt = this.#version.get()!;
    this.#empty = this.#any.get()!.n === 0;
  }

  /** Whether the table is known to be empty: no row when last counted, and no other instance (another process on the same file) has written since. */
  #isEmpty(): boolean {
    if (!this.#empty) return false;
    const version = this.#version.get()!;
    if (version === this.#emptyAt) return true;
    this.#emptyAt = version;
    this.#empty = this.#any.get()!.n === 0;
    return this.#empty;
  }

  get(path: string): DeadProp[] {
    if (this.#isEmpty()) return [];
    return this.#get.all(path);
  }

  /** Props of every path strictly below `dir`, grouped by path. */
  below(dir: string): Map<string, DeadProp[]> {
    const out = new Map<string, DeadProp[]>();
    if (this.#isEmpty()) return out;
    for (const row of this.#children.all(...below(dir))) {
      let list = out.get(row.path);
      if (!list) out.set(row.path, (list = []));
      list.push({ ns: row.ns, name: row.name, value: row.value });
    }
    return out;
  }

  /** Apply all changes or none (RFC 4918 9.2: PROPPATCH is atomic). */
  apply(path: string, changes: readonly PropChange[]): void {
    this.#db.transaction(() => {
      for (const c of changes) {
        if (c.op === 'set') this.#set.run(path, c.prop.ns, c.prop.name, c.prop.value);
        else this.#remove.run(path, c.ns, c.name);
      }
    })();
    if (changes.some((c) => c.op === 'set')) this.#empty = false;
  }

  /** Forget `path` and everything below it. */
  remove(path: string): void {
    if (this.#isEmpty()) return;
    const [from, to] = below(path);
    this.#db.prepare('DELETE FROM props WHERE path = ? OR (path >= ? AND path < ?)').run(path, from, to);
  }

  /** Copy the props of `from` (and, when `deep`, below) to `to` (and below). */
  copy(from: string, to: string, deep = true): void {
    if (this.#isEmpty()) return;
    const [lo, hi] = deep ? below(from) : ['', ''];
    this.#db
      .prepare(
        'INSERT OR REPLACE INTO props (path, ns, name, value) SELECT ? || substr(path, ?), ns, name, value FROM props WHERE path = ? OR (path >= ? AND path < ?)',
      )
      .run(to, from.length + 1, from, lo, hi);
  }

  /** Move the props of `from` (and below) to `to`. */
  move(from: string, to: string): void {
    if (this.#isEmpty()) return;
    this.#db.transaction(() => {
      this.remove(to);
      this.copy(from, to);
      this.remove(from);
    })();
  }

  close(): void {
    this.#db.close();
  }
}
