/**
 * The store's space reserve (`@hearth/sqlite`'s `SpaceReserve`): `DIR/reserve`, written when the
 * store opens (if there is room), so that a full disk is full for deliveries but not for the
 * writes that free space. Deleting messages (and taking or releasing an exclusive maildrop lock)
 * must still commit a few pages to the WAL: when such a write fails with STORAGE_FULL, the reserve
 * is given up and the write tried once more; the reserve is written again once a deletion has
 * freed room.
 */
import { join } from 'node:path';
import { SpaceReserve } from '@hearth/sqlite';
import { isMailStoreError } from './errors.js';

export function storeReserve(dir: string): SpaceReserve {
  return new SpaceReserve(join(dir, 'reserve'), (error) => isMailStoreError(error, 'STORAGE_FULL'));
}
