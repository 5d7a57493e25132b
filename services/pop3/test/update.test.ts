/**
 * QUIT in TRANSACTION: the deletions, then the lock's release, then the +OK; the lock is held
 * until the deletions are done, and free once the client has the +OK.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import type { MailBacking, OpenResult } from '@hearth/pop3';
import { LineClient, sampleBacking, startPop3, transcript, type Harness } from './helpers.js';

let harness: Harness | undefined;
const clients: LineClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await harness?.close();
  harness = undefined;
});

/** The sample backing with deletions that take `ms` and a log of expunges and releases. */
function slowExpunge(ms: number): { backing: MailBacking; events: string[] } {
  const inner = sampleBacking();
  const events: string[] = [];
  const backing: MailBacking = {
    verifyPassword: (user, password) => inner.verifyPassword(user, password),
    apopSecret: (user) => inner.apopSecret(user),
    findUser: (name) => inner.findUser(name),
    deliver: (input) => inner.deliver(input),
    async openMaildrop(user): Promise<OpenResult> {
      const opened = await inner.openMaildrop(user);
      if (!opened.ok) return opened;
      const { maildrop } = opened;
      return {
        ok: true,
        maildrop: {
          messages: maildrop.messages,
          openBody: (m) => maildrop.openBody(m),
          refresh: () => maildrop.refresh(),
          async expunge(messages) {
            events.push('expunge started');
            await sleep(ms);
            await maildrop.expunge(messages);
            events.push('expunge done');
          },
          async release() {
            events.push('released');
            await maildrop.release();
          },
        },
      };
    },
  };
  return { backing, events };
}

async function login(): Promise<LineClient> {
  const client = await LineClient.connect(harness!.port);
  clients.push(client);
  await transcript(client, [
    [null, /^\+OK/],
    ['USER alice', /^\+OK/],
  ]);
  return client;
}

it('keeps the maildrop locked until the deletions are done, and releases it before the +OK', async () => {
  const { backing, events } = slowExpunge(300);
  harness = await startPop3({ backing });
  const first = await login();
  await transcript(first, [
    ['PASS secret', /^\+OK Logged in, 3 messages/],
    ['DELE 1', /^\+OK/],
  ]);
  first.send('QUIT');
  await sleep(100); // deleting now
  const second = await login();
  await transcript(second, [['PASS secret', /^-ERR \[IN-USE\]/]]);
  expect(await first.line()).toBe('+OK Hearth POP3 signing off (1 messages deleted)');
  expect(events).toEqual(['expunge started', 'expunge done', 'released']);
  await first.closed();
  const third = await login();
  await transcript(third, [
    ['PASS secret', /^\+OK Logged in, 2 messages/],
    ['QUIT', '+OK Hearth POP3 signing off (0 messages deleted)'],
  ]);
  expect(events.slice(3)).toEqual(['released']);
});

it('releases the lock after the deletions also when the connection drops during them', async () => {
  const { backing, events } = slowExpunge(300);
  harness = await startPop3({ backing });
  const first = await login();
  await transcript(first, [
    ['PASS secret', /^\+OK/],
    ['DELE 2', /^\+OK/],
  ]);
  first.send('QUIT');
  await sleep(100);
  first.destroy();
  await sleep(50);
  expect(events).toEqual(['expunge started']);
  await sleep(300);
  expect(events).toEqual(['expunge started', 'expunge done', 'released']);
  const again = await login();
  await transcript(again, [['PASS secret', /^\+OK Logged in, 2 messages/]]);
});
