/**
 * XIDLE and biff's confirmation of the subscription, over the real store: a message committed
 * after the wait's catch-up read, while the subscription was still on its way to biff (so biff
 * sent no notice for it), is pushed when biff confirms the subscription.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSuiteAccounts, type Accounts } from '@hearth/accounts';
import { openMailStore, type MailStore } from '@hearth/mail-store';
import { storeBacking, type MailBacking } from '@hearth/pop3';
import { FakeBus, LineClient, removeDir, startPop3, transcript, type Harness } from './helpers.js';

let dir: string;
let store: MailStore;
let accounts: Accounts;
let harness: Harness;
const bus = new FakeBus();
/** Index reads (`Maildrop.refresh`) by every session so far. */
let reads = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pop3-push-subscribed-'));
  store = await openMailStore({ dir: join(dir, 'mail') });
  accounts = await openSuiteAccounts(dir, { passwordParams: { ln: 4, r: 8, p: 1 } });
  store.addMaildrop('alice');
  await accounts.add('alice', 'pw');
  const base = storeBacking(store, accounts);
  const backing: MailBacking = {
    ...base,
    async openMaildrop(user, options) {
      const opened = await base.openMaildrop(user, options);
      if (!opened.ok) return opened;
      const inner = opened.maildrop;
      return {
        ok: true,
        maildrop: {
          ...inner,
          refresh: () => {
            reads++;
            return inner.refresh();
          },
        },
      };
    },
  };
  harness = await startPop3({ backing, bus });
});

afterAll(async () => {
  await harness?.close();
  await store?.close();
  await accounts?.close();
  removeDir(dir);
});

describe('XIDLE and the subscription biff confirms', () => {
  it('pushes what was committed before biff held the subscription once biff confirms it', async () => {
    const alice = await LineClient.connect(harness.port);
    await transcript(alice, [
      [null, /^\+OK/],
      ['USER alice', /^\+OK/],
      ['PASS pw', /^\+OK/],
      ['XIDLE', /^\+OK/],
    ]);
    await expect.poll(() => reads).toBe(1); // the catch-up read on entering the wait
    const subscribe = bus.sent.find((m) => m.topic === 'biff.subscribe');
    expect(subscribe).toMatchObject({ to: 'biff', payload: { user: 'alice' } });
    const { instance } = subscribe!.payload as { instance: number };

    // Committed now, with no notice: biff did not hold the subscription yet.
    const [m1] = await store.deliver({ recipients: ['alice'], body: 'Subject: early\r\n\r\nearly\r\n' });
    bus.emit('biff.subscribed', { user: 'alice', instance });
    expect(await alice.line()).toBe(`* NEW 1 ${m1!.uidl} ${m1!.size}`);
    expect(reads).toBe(2);

    alice.send('DONE');
    expect(await alice.line()).toBe(`+OK Done waiting, 1 messages (${m1!.size} octets)`);
    await transcript(alice, [['QUIT', /^\+OK/]]);
    await alice.closed();
  });
});
