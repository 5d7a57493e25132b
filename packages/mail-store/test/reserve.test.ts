/**
 * The space reserve (src/reserve.ts): written at open, written again after a deletion when it is
 * missing. Its use on a full disk is tested at the socket level in the POP3 service
 * (services/pop3/test/full-disk.test.ts, a filled tmpfs).
 */
import { statSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { storeFixture } from './helpers.js';

const fx = storeFixture(['alice']);
const reserveSize = (): number | undefined => {
  try {
    return statSync(join(fx.dir, 'reserve')).size;
  } catch {
    return undefined;
  }
};

describe('the space reserve', () => {
  it('is written at open, and again after a deletion once it is missing', async () => {
    expect(reserveSize()).toBe(1024 * 1024);
    const [a, b] = await Promise.all([
      fx.store.deliver({ recipients: ['alice'], body: 'Subject: a\r\n\r\na\r\n' }),
      fx.store.deliver({ recipients: ['alice'], body: 'Subject: b\r\n\r\nb\r\n' }),
    ]);
    await unlink(join(fx.dir, 'reserve'));
    // Nothing deleted (an id of no message): nothing to write it with.
    expect(await fx.store.deleteMessages('alice', [987654])).toBe(0);
    expect(reserveSize()).toBeUndefined();
    expect(await fx.store.deleteMessages('alice', [a![0]!.messageId])).toBe(1);
    expect(reserveSize()).toBe(1024 * 1024);
    expect(fx.store.listMessages('alice').map((m) => m.messageId)).toEqual([b![0]!.messageId]);
  });
});
