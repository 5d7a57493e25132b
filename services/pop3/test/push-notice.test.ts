/**
 * XIDLE over the real store with biff's notices: a complete 'hearth' notice for the next uid is
 * pushed without reading the index; a gap (a notice that never came) or a comsat notice reads it;
 * a message no notice announced is pushed when the wait ends, before DONE's +OK, numbered after
 * everything pushed before; one committed after the wait's catch-up read while the subscription
 * was on its way to biff (so biff sent no notice for it) is pushed when biff confirms the
 * subscription.
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
  dir = mkdtempSync(join(tmpdir(), 'pop3-push-notice-'));
  store = await openMailStore({ dir: join(dir, 'mail') });
  accounts = await openSuiteAccounts(dir, { passwordParams: { ln: 4, r: 8, p: 1 } });
  store.addMaildrop('alice');
  store.addMaildrop('bob');
  await accounts.add('alice', 'pw');
  await accounts.add('bob', 'pw');
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

async function deliver(text: string) {
  const [copy] = await store.deliver({ recipients: ['alice'], body: `Subject: ${text}\r\n\r\n${text}\r\n` });
  return copy!;
}

const notice = (copy: { messageId: number; uid: number; uidl: string; size: number }) => ({
  user: 'alice',
  maildrop: 'INBOX',
  messageId: copy.messageId,
  uid: copy.uid,
  uidl: copy.uidl,
  size: copy.size,
  source: 'hearth',
});

describe('XIDLE from notices', () => {
  it('pushes from a complete notice without an index read, and reconciles what no notice announced', async () => {
    const m1 = await deliver('one');
    const alice = await LineClient.connect(harness.port);
    await transcript(alice, [
      [null, /^\+OK/],
      ['USER alice', /^\+OK/],
      ['PASS pw', /^\+OK/],
      ['STAT', `+OK 1 ${m1.size}`],
      ['XIDLE', /^\+OK/],
    ]);
    await expect.poll(() => reads).toBe(1); // the catch-up read on entering the wait

    const m2 = await deliver('two');
    bus.emit('mail.notify', notice(m2));
    expect(await alice.line()).toBe(`* NEW 2 ${m2.uidl} ${m2.size}`);
    bus.emit('mail.notify', { batch: [notice(m2), notice(m1)] }); // already known: nothing, no read
    const m3 = await deliver('three');
    bus.emit('mail.notify', { batch: [notice(m3)] });
    expect(await alice.line()).toBe(`* NEW 3 ${m3.uidl} ${m3.size}`);
    expect(reads).toBe(1);

    // m4's notice is lost: m5's shows a gap, so the index is read and both are pushed in order.
    const m4 = await deliver('four');
    const m5 = await deliver('five');
    bus.emit('mail.notify', notice(m5));
    expect(await alice.line()).toBe(`* NEW 4 ${m4.uidl} ${m4.size}`);
    expect(await alice.line()).toBe(`* NEW 5 ${m5.uidl} ${m5.size}`);
    expect(reads).toBe(2);

    // A comsat notice names no message: the index tells.
    const m6 = await deliver('six');
    bus.emit('mail.notify', { user: 'alice', maildrop: 'INBOX', source: 'comsat' });
    expect(await alice.line()).toBe(`* NEW 6 ${m6.uidl} ${m6.size}`);
    expect(reads).toBe(3);

    // m7's notice never comes: the wait ends with one index read that pushes it before +OK.
    const m7 = await deliver('seven');
    const total = [m1, m2, m3, m4, m5, m6, m7].reduce((sum, m) => sum + m.size, 0);
    alice.send('DONE');
    expect(await alice.line()).toBe(`* NEW 7 ${m7.uidl} ${m7.size}`);
    expect(await alice.line()).toBe(`+OK Done waiting, 7 messages (${total} octets)`);
    expect(reads).toBe(4);
    await transcript(alice, [
      ['STAT', `+OK 7 ${total}`],
      ['UIDL 7', `+OK 7 ${m7.uidl}`],
      ['UIDL 2', `+OK 2 ${m2.uidl}`],
      ['QUIT', /^\+OK/],
    ]);
    await alice.closed();
  });
});

describe('XIDLE and the subscription biff confirms', () => {
  it('pushes what was committed before biff held the subscription once biff confirms it', async () => {
    const bob = await LineClient.connect(harness.port);
    const before = reads;
    await transcript(bob, [
      [null, /^\+OK/],
      ['USER bob', /^\+OK/],
      ['PASS pw', /^\+OK/],
      ['XIDLE', /^\+OK/],
    ]);
    await expect.poll(() => reads).toBe(before + 1); // the catch-up read on entering the wait
    const subscribe = bus.sent.find((m) => m.topic === 'biff.subscribe' && (m.payload as { user: string }).user === 'bob');
    expect(subscribe).toMatchObject({ to: 'biff' });
    const { instance } = subscribe!.payload as { instance: number };

    // Committed now, with no notice: biff did not hold the subscription yet.
    const [m1] = await store.deliver({ recipients: ['bob'], body: 'Subject: early\r\n\r\nearly\r\n' });
    bus.emit('biff.subscribed', { user: 'bob', instance });
    expect(await bob.line()).toBe(`* NEW 1 ${m1!.uidl} ${m1!.size}`);
    expect(reads).toBe(before + 2);

    bob.send('DONE');
    expect(await bob.line()).toBe(`+OK Done waiting, 1 message (${m1!.size} octets)`);
    await transcript(bob, [['QUIT', /^\+OK/]]);
    await bob.closed();
  });
});
