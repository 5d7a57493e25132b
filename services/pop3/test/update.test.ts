/**
 * QUIT in TRANSACTION under `exclusiveLock`: the deletions, then the lock's release, then the
 * +OK; the lock is held until the deletions are done, and free once the client has the +OK.
 */
import { afterEach, expect, it } from 'vitest';
import { waitFor } from '@hearth/testkit';
import type { MailBacking, OpenResult } from '@hearth/pop3';
import { LineClient, sampleBacking, startPop3, transcript, type Harness } from './helpers.js';

let harness: Harness | undefined;
const clients: LineClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await harness?.close();
  harness = undefined;
});

interface GatedExpunge {
  readonly backing: MailBacking;
  /** Expunges and releases, in order. */
  readonly events: string[];
  /** Resolves once a deletion has started (and waits for `finish`). */
  readonly started: Promise<void>;
  /** Lets the deletions go on. */
  finish(): void;
}

/** The sample backing with deletions that wait for the test's `finish()`, and a log of expunges and releases. */
function gatedExpunge(): GatedExpunge {
  const inner = sampleBacking();
  const events: string[] = [];
  let onStart!: () => void;
  const started = new Promise<void>((resolve) => (onStart = resolve));
  let finish!: () => void;
  const gate = new Promise<void>((resolve) => (finish = resolve));
  const backing: MailBacking = {
    authenticate: (user, password) => inner.authenticate(user, password),
    credentialStamp: (user) => inner.credentialStamp(user),
    apopSecret: (user) => inner.apopSecret(user),
    findUser: (name) => inner.findUser(name),
    deliver: (input) => inner.deliver(input),
    async openMaildrop(user, options): Promise<OpenResult> {
      const opened = await inner.openMaildrop(user, options);
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
            onStart();
            await gate;
            const removed = await maildrop.expunge(messages);
            events.push('expunge done');
            return removed;
          },
          async release() {
            events.push('released');
            await maildrop.release();
          },
        },
      };
    },
  };
  return { backing, events, started, finish };
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
  const { backing, events, started, finish } = gatedExpunge();
  harness = await startPop3({ backing, settings: { exclusiveLock: true } });
  const first = await login();
  await transcript(first, [
    ['PASS secret', /^\+OK Logged in, 3 messages/],
    ['DELE 1', /^\+OK/],
  ]);
  first.send('QUIT');
  await started; // deleting now
  const second = await login();
  await transcript(second, [['PASS secret', /^-ERR \[IN-USE\]/]]);
  expect(events).toEqual(['expunge started']);
  finish();
  expect(await first.line()).toBe('+OK Hearth POP3 signing off (1 message deleted)');
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
  const { backing, events, started, finish } = gatedExpunge();
  harness = await startPop3({ backing, settings: { exclusiveLock: true } });
  const first = await login();
  await transcript(first, [
    ['PASS secret', /^\+OK/],
    ['DELE 2', /^\+OK/],
  ]);
  first.send('QUIT');
  await started;
  first.destroy();
  // The server has seen the drop once it no longer counts the connection.
  await waitFor(() => harness!.pop3.connections === 0, { what: 'the dropped connection no longer counted' });
  const second = await login();
  await transcript(second, [['PASS secret', /^-ERR \[IN-USE\]/]]);
  expect(events).toEqual(['expunge started']);
  finish();
  await waitFor(() => events.length >= 3, { what: 'the expunge done and the maildrop released' });
  expect(events).toEqual(['expunge started', 'expunge done', 'released']);
  const again = await login();
  await transcript(again, [['PASS secret', /^\+OK Logged in, 2 messages/]]);
});
