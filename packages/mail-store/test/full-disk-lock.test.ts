/**
 * The POP3 maildrop lock on a full disk past the space reserve (a small tmpfs, as root): a release
 * that cannot be written is kept and made before the next lock is taken, or at close, so the
 * maildrop does not stay locked by a session that has ended for as long as its process runs.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { mountSmallDisk, type SmallDisk } from '@hearth/testkit';
import { openMailStore, type MailStore } from '@hearth/mail-store';

let disk: SmallDisk | undefined;
let store: MailStore | undefined;

afterEach(async () => {
  await store?.close();
  store = undefined;
  disk?.unmount();
});

/** A store on a new small disk, with alice's maildrop locked by `session-1` and its release refused. */
async function refusedRelease(): Promise<string> {
  disk = mountSmallDisk('4m', 'mail-lock-full-');
  const dir = join(disk.path, 'mail');
  store = await openMailStore({ dir });
  store.addMaildrop('alice');
  expect(await store.acquireMaildrop('alice', 'session-1')).toBeDefined();
  // The reserve already given up (an earlier deletion on this full disk), and no room left.
  rmSync(join(dir, 'reserve'));
  disk.fill();
  await expect(store.releaseMaildrop('alice', 'session-1')).rejects.toMatchObject({ code: 'STORAGE_FULL' });
  expect(store.maildropLockHolder('alice')?.holder).toBe('session-1');
  rmSync(join(disk.path, 'filler'));
  return dir;
}

it('keeps a release the disk refused and makes it before the next lock is taken', async () => {
  await refusedRelease();
  expect(await store!.acquireMaildrop('alice', 'session-2')).toBeDefined();
  expect(store!.maildropLockHolder('alice')?.holder).toBe('session-2');
  await store!.releaseMaildrop('alice', 'session-2');
  expect(store!.maildropLockHolder('alice')).toBeUndefined();
});

it('makes a release it still owes when it closes', async () => {
  const dir = await refusedRelease();
  await store!.close();
  store = await openMailStore({ dir });
  expect(store.maildropLockHolder('alice')).toBeUndefined();
});
