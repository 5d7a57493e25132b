/**
 * POP3 on a full disk: the data dir lives on a small tmpfs mounted for this test (the tests run
 * as root) and filled until a delivery fails. Logging in and reading need no write; DELE+QUIT
 * still commits (the store's space reserve) and frees room; under `exclusiveLock` the lock's
 * writes go through as well.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openSuiteAccounts, type Accounts } from '@hearth/accounts';
import { openMailStore, type MailStore } from '@hearth/mail-store';
import { storeBacking } from '@hearth/pop3';
import { mountSmallDisk, type SmallDisk } from '@hearth/testkit';
import { LineClient, loginClient, startPop3, transcript, type Harness } from './helpers.js';

let disk: SmallDisk | undefined;
let mnt: string;
let store: MailStore | undefined;
let accounts: Accounts | undefined;
let harness: Harness | undefined;
const clients: LineClient[] = [];

const free = (): number => disk!.free();

/** A large body (a file under bodies/) of about `kib` KiB. */
const body = (n: number, kib: number): string => `Subject: ${n}\r\n\r\n${'x'.repeat(kib * 1024)}\r\n`;

/** Delivers until the store refuses: large bodies, then index-sized ones. Returns the count. */
async function fill(user: string): Promise<number> {
  let count = 0;
  for (const kib of [200, 2]) {
    for (;;) {
      const refused = await store!.deliver({ recipients: [user], body: body(count + 1, kib) }).then(
        () => undefined,
        (error: { code?: string }) => error.code,
      );
      if (refused === undefined) {
        count++;
        continue;
      }
      expect(refused).toBe('STORAGE_FULL');
      break;
    }
  }
  return count;
}

beforeAll(async () => {
  disk = mountSmallDisk('6m', 'pop3-full-disk-');
  mnt = disk.path;
  store = await openMailStore({ dir: join(mnt, 'mail') });
  accounts = await openSuiteAccounts(mnt, { passwordParams: { ln: 4, r: 8, p: 1 } });
  for (const user of ['alice', 'bob']) {
    store.addMaildrop(user);
    await accounts.add(user, 'pw');
  }
});

afterAll(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await harness?.close();
  await store?.close();
  await accounts?.close();
  disk?.unmount();
});

async function login(user: string, expected: RegExp): Promise<LineClient> {
  return loginClient(harness!.port, clients, user, 'pw', expected);
}

async function loginReadDelete(user: string): Promise<void> {
  const count = await fill(user);
  expect(count).toBeGreaterThan(3);
  const before = free();
  expect(before).toBeLessThan(64 * 1024);
  const client = await login(user, new RegExp(`^\\+OK Logged in, ${count} messages`));
  const first = body(1, 200);
  await transcript(client, [
    ['STAT', new RegExp(`^\\+OK ${count} \\d+$`)],
    ['RETR 1', [`+OK ${Buffer.byteLength(first)} octets`, 'Subject: 1', '', 'x'.repeat(200 * 1024)]],
    ['TOP 2 0', ['+OK Top of message follows', 'Subject: 2', '']],
    ['DELE 1', /^\+OK/],
    ['DELE 2', /^\+OK/],
    ['DELE 3', /^\+OK/],
    ['QUIT', '+OK Hearth POP3 signing off (3 messages deleted)'],
  ]);
  await client.closed();
  expect(store!.listMessages(user)).toHaveLength(count - 3);
  // Three 200 KiB bodies: most of their room is free again (the reserve may take some back).
  expect(free()).toBeGreaterThan(before + 300 * 1024);
  const again = await login(user, new RegExp(`^\\+OK Logged in, ${count - 3} message${count - 3 === 1 ? '' : 's'} `));
  await transcript(again, [['QUIT', /^\+OK/]]);
}

it('logs in, reads, and frees space with DELE+QUIT on a full disk', async () => {
  harness = await startPop3({ backing: storeBacking(store!, accounts!) });
  await loginReadDelete('alice');
  await harness.close();
  harness = undefined;
});

it('does the same under exclusiveLock, whose lock is written', async () => {
  harness = await startPop3({ backing: storeBacking(store!, accounts!), settings: { exclusiveLock: true } });
  await loginReadDelete('bob');
  expect(store!.maildropLockHolder('bob')).toBeUndefined();
});
