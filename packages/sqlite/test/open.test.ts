import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Migration, type Schema } from '@hearth/sqlite';

const ONE: Migration = { version: 1, description: 'a table', sql: 'CREATE TABLE a (x INTEGER) STRICT;' };
const TWO: Migration = { version: 2, description: 'another', sql: 'CREATE TABLE b (y INTEGER) STRICT;' };

class TooNew extends Error {}
const schema = (...migrations: Migration[]): Schema => ({ name: 'test', migrations, tooNew: (m) => new TooNew(m) });

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-sqlite-'));
  file = join(dir, 'test.db');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const tables = (db: Database.Database): string[] =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map(
    (r) => r.name,
  );

describe('openDatabase', () => {
  it('creates the file in WAL mode, synchronous FULL, foreign keys on, at the last migration', () => {
    const db = openDatabase(file, 1000, schema(ONE, TWO));
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.pragma('user_version', { simple: true })).toBe(2);
      expect(tables(db)).toEqual(['a', 'b']);
    } finally {
      db.close();
    }
  });

  it('applies only the migrations a file lacks', () => {
    openDatabase(file, 1000, schema(ONE)).close();
    const old = new Database(file);
    old.exec('INSERT INTO a VALUES (7)');
    old.close();
    const db = openDatabase(file, 1000, schema(ONE, TWO));
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(2);
      expect(db.prepare('SELECT x FROM a').pluck().all()).toEqual([7]);
      expect(tables(db)).toEqual(['a', 'b']);
    } finally {
      db.close();
    }
  });

  it('throws the schema’s own error for a file newer than its migrations, and leaves the file as it was', () => {
    openDatabase(file, 1000, schema(ONE, TWO)).close();
    expect(() => openDatabase(file, 1000, schema(ONE))).toThrow(TooNew);
    expect(() => openDatabase(file, 1000, schema(ONE))).toThrow(
      'test schema is version 2, newer than this Hearth understands (1): upgrade Hearth',
    );
    const db = new Database(file);
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    db.close();
  });

  it('rolls every migration of the open back when one fails', () => {
    const broken: Migration = { version: 2, description: 'broken', sql: 'CREATE TABLE b (y INTEGER) STRICT; NOT SQL;' };
    expect(() => openDatabase(file, 1000, schema(ONE, broken))).toThrow(/syntax error/);
    const db = new Database(file);
    expect(db.pragma('user_version', { simple: true })).toBe(0);
    expect(tables(db)).toEqual([]);
    db.close();
  });
});
