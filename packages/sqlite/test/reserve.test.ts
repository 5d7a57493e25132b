/**
 * The space reserve on a small tmpfs mounted for this test (the tests run as root): written only
 * whole, given up to let a write that failed for a full disk through once, and kept for any other
 * failure; the temporaries of writers that are gone removed as it is written.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountSmallDisk, type SmallDisk } from '@hearth/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isDiskFull, RESERVE_BYTES, SpaceReserve } from '../src/index.js';

let disk: SmallDisk;
let mnt: string;

beforeAll(() => {
  disk = mountSmallDisk('2m', 'sqlite-reserve-');
  mnt = disk.path;
});

afterAll(() => disk?.unmount());

/** An error as SQLite's addon throws it for a full disk. */
const full = (): Error => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });

it('is written whole, or not at all when the room is short', async () => {
  const reserve = new SpaceReserve(join(mnt, 'reserve'));
  expect(await reserve.ensure()).toBe(true);
  expect(statSync(reserve.path).size).toBe(RESERVE_BYTES);
  expect(await reserve.release()).toBe(true);
  expect(await reserve.release()).toBe(false);
  // Leave less than the reserve's size free: no short reserve, and no temporary left.
  writeFileSync(join(mnt, 'ballast'), Buffer.alloc(RESERVE_BYTES + 512 * 1024, 1));
  expect(await reserve.ensure()).toBe(false);
  expect(readdirSync(mnt)).toEqual(['ballast']);
});

it('gives itself up for one more try of a write that failed for a full disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-reserve-free-'));
  const reserve = new SpaceReserve(join(dir, 'reserve'));
  expect(await reserve.ensure()).toBe(true);
  let tries = 0;
  const { result, usedReserve } = await reserve.freeing(() => {
    if (tries++ === 0) throw full();
    return 'done';
  });
  expect([result, usedReserve, tries]).toEqual(['done', true, 2]);
  expect(readdirSync(dir)).toEqual([]);
  // Without a reserve, the failure stands.
  await expect(reserve.freeing(() => Promise.reject(full()))).rejects.toThrow('database or disk is full');
  // Another failure is not a full disk: the reserve stays.
  expect(await reserve.ensure()).toBe(true);
  await expect(
    reserve.freeing(() => {
      throw Object.assign(new Error('constraint failed'), { code: 'SQLITE_CONSTRAINT' });
    }),
  ).rejects.toThrow('constraint failed');
  expect(statSync(reserve.path).size).toBe(RESERVE_BYTES);
  rmSync(dir, { recursive: true, force: true });
});

it("removes the temporaries of writers that are gone as it writes the reserve, and no one else's", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-reserve-abandoned-'));
  try {
    // A pid that was a process a moment ago and is not one now.
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    const alive = process.ppid;
    for (const name of [`reserve.${gone}.tmp`, `reserve.${alive}.tmp`, 'reserve.notes', 'other.1.tmp']) writeFileSync(join(dir, name), 'x');
    expect(await new SpaceReserve(join(dir, 'reserve')).ensure()).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['other.1.tmp', 'reserve', `reserve.${alive}.tmp`, 'reserve.notes'].sort());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('knows a full disk by the codes of the file system and of SQLite', () => {
  for (const code of ['ENOSPC', 'EDQUOT', 'SQLITE_FULL']) expect(isDiskFull(Object.assign(new Error(code), { code }))).toBe(true);
  for (const error of [new Error('x'), Object.assign(new Error('x'), { code: 'EACCES' }), undefined, 'ENOSPC']) expect(isDiskFull(error)).toBe(false);
});
