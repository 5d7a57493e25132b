import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from 'better-sqlite3';
import { openDatabase } from '@hearth/sqlite';
import { withoutSync } from '../../dist/database.js';
import { SCHEMA } from '../../dist/schema.js';

const FULL = 2;
const NORMAL = 1;

let dir: string;
let db: Database;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-mail-store-sync-'));
  db = openDatabase(join(dir, 'store.db'), 1000, SCHEMA);
});
afterEach(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

const level = (): number => db.pragma('synchronous', { simple: true }) as number;

describe('withoutSync (the maildrop locks’ writes)', () => {
  it('runs with synchronous = NORMAL and puts FULL back, also when the write throws', () => {
    expect(level()).toBe(FULL);
    expect(withoutSync(db, () => level())).toBe(NORMAL);
    expect(level()).toBe(FULL);
    expect(() =>
      withoutSync(db, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(level()).toBe(FULL);
    // Twice in a row: the pragma takes effect every time, not only when first compiled.
    expect(withoutSync(db, () => level())).toBe(NORMAL);
    expect(withoutSync(db, () => level())).toBe(NORMAL);
    expect(level()).toBe(FULL);
  });
});
