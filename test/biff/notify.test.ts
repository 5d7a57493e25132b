/**
 * New-mail notification across services under `hearth up`: an external comsat datagram from a
 * plain UDP client, and an SMTP delivery, reach alice's waiting POP3 push session, `hearth mail
 * watch` and alice's bus watcher; nothing of alice's reaches bob's session, watch or watcher.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runTranscript } from '@hearth/testkit';
import {
  BIFF_MODULE,
  HEARTH,
  WATCHER_MODULE,
  addUsers,
  deliverAndNotify,
  openStore,
  poll,
  pop3Waiting,
  sendDatagram,
} from '@hearth/testkit/suite';
import { suitePerTest, type Suite } from './suite-per-test.js';

const startSuite = suitePerTest();
const sessions: Array<{ close(): void }> = [];
const watchers: ChildProcess[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) s.close();
  for (const w of watchers.splice(0)) w.kill('SIGKILL');
});

const q = JSON.stringify;

function newMail(s: Suite, svc: string): Array<Record<string, unknown>> {
  return s.logsOf(svc).filter((l: Record<string, unknown>) => l['msg'] === 'new mail');
}

/**
 * Until biff has confirmed POP3's subscription for `user` (pop3 at debug): a waiting session reads
 * its index again then, and would push a message committed before it.
 */
async function subscriptionConfirmed(s: Suite, user: string): Promise<void> {
  const line = await poll(() => s.logsOf('pop3').find((l: Record<string, unknown>) => l['msg'] === 'subscription confirmed by biff' && l['user'] === user), 10_000);
  if (line === undefined) throw new Error(`biff did not confirm pop3's subscription for ${user}`);
}

/** `hearth mail watch --count 1` for `user` (password from the environment, as documented). */
function mailWatch(port: number, data: string, user: string) {
  const child = spawn(process.execPath, [HEARTH, 'mail', 'watch', '--user', user, '--port', String(port), '--data', data, '--count', '1'], {
    env: { ...process.env, HEARTH_PASSWORD: `${user}-pw` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  watchers.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out.stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out.stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { out, exited };
}

async function smtpSend(port: number, to: string): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  try {
    await runTranscript(socket, [
      [null, /^220 /m],
      ['EHLO client.test', /^250 /m],
      ['MAIL FROM:<someone@example.org>', /^250 /m],
      [`RCPT TO:<${to}>`, /^250 /m],
      ['DATA', /^354 /m],
      ['Subject: over SMTP\r\n\r\nhello\r\n.', /^250 /m],
      ['QUIT', /^221 /m],
    ]);
  } finally {
    socket.destroy();
  }
}

describe('biff under hearth up', () => {
  it('a comsat datagram and an SMTP delivery reach exactly alice\'s push session and watcher, never bob\'s', async () => {
    const s = await startSuite(
      `log: { level: debug }
services:
  biff:
    module: ${q(BIFF_MODULE)}
    listen: { comsat: { protocol: udp, port: 0 } }
  smtp:
    service: smtp
    listen: { mx: { port: 0 } }
    requires: [biff]
  pop3:
    service: pop3
    listen: { pop3: { port: 0 } }
    requires: [biff]
  watch-alice:
    module: ${q(WATCHER_MODULE)}
    settings: { users: [alice] }
    requires: [biff]
  watch-bob:
    module: ${q(WATCHER_MODULE)}
    settings: { users: [bob] }
    requires: [biff]
`,
      { prepare: (data: string) => addUsers(data, ['alice', 'bob']) },
    );
    const rows = await s.status();
    for (const r of rows) expect(r.state, r.name).toBe('running');
    const port = (name: string, listener: string): number =>
      rows.find((r: { name: string }) => r.name === name)!.listeners.find((l: { name: string }) => l.name === listener)!.port;
    const comsat = port('biff', 'comsat');
    await s.waitLog('watch-alice', /^subscribed$/, 30_000);
    await s.waitLog('watch-bob', /^subscribed$/, 30_000);

    const alice = await pop3Waiting(port('pop3', 'pop3'), 'alice', 'alice-pw');
    const bob = await pop3Waiting(port('pop3', 'pop3'), 'bob', 'bob-pw');
    sessions.push(alice, bob);
    // Bob gets a message nobody announces: if anything woke his session, it would be pushed.
    await subscriptionConfirmed(s, 'bob');
    const store = await openStore(s.data);
    await store.deliver({ recipients: ['bob'], body: 'Subject: quiet\r\n\r\nshh\r\n' });
    await store.close();

    // 1. An external MDA: store, then a plain UDP datagram as Postfix local(8) sends it.
    const { message } = await deliverAndNotify(s.data, 'alice', comsat);
    expect(await alice.waitPush()).toBe(`* NEW 1 ${message.uidl} ${message.size}`);
    await s.waitLog('watch-alice', /^new mail$/);
    expect(newMail(s, 'watch-alice')[0]).toMatchObject({ user: 'alice', maildrop: 'INBOX', source: 'comsat', from: 'biff' });

    // 2. SMTP: the smtp service publishes mail.delivered, biff tells the subscribers.
    await smtpSend(port('smtp', 'mx'), 'alice@localhost');
    await expect.poll(() => alice.pushes().length, { timeout: 5000 }).toBe(2);
    await expect.poll(() => newMail(s, 'watch-alice').length, { timeout: 5000 }).toBe(2);
    const viaSmtp = newMail(s, 'watch-alice')[1]!;
    expect(viaSmtp).toMatchObject({ user: 'alice', maildrop: 'INBOX', source: 'hearth', from: 'biff' });
    expect(alice.pushes()[1]).toBe(`* NEW 2 ${viaSmtp['uidl']} ${viaSmtp['size']}`);

    // Nothing of alice's reached bob. biff hands notices on in order, so once bob's own datagram
    // (mail.local style) has reached his session and his watcher, anything of alice's sent to him
    // before would have too; it also shows the detector works.
    await sendDatagram(comsat, 'bob@0\n\0');
    expect(await bob.waitPush()).toMatch(/^\* NEW 1 \S+ \d+$/);
    await s.waitLog('watch-bob', /^new mail$/);
    expect(bob.pushes()).toHaveLength(1);
    expect(newMail(s, 'watch-bob').map((l) => l['user'])).toEqual(['bob']);
    expect(newMail(s, 'watch-alice').map((l) => l['user'])).toEqual(['alice', 'alice']);
  });

  it('a comsat datagram reaches `hearth mail watch` for alice, never bob\'s', async () => {
    const s = await startSuite(
      `log: { level: debug }
services:
  biff:
    module: ${q(BIFF_MODULE)}
    listen: { comsat: { protocol: udp, port: 0 } }
  pop3:
    service: pop3
    listen: { pop3: { port: 0 } }
    requires: [biff]
`,
      { prepare: (data: string) => addUsers(data, ['alice', 'bob']) },
    );
    const rows = await s.status();
    const port = (name: string, listener: string): number =>
      rows.find((r: { name: string }) => r.name === name)!.listeners.find((l: { name: string }) => l.name === listener)!.port;
    const aliceWatch = mailWatch(port('pop3', 'pop3'), s.data, 'alice');
    const bobWatch = mailWatch(port('pop3', 'pop3'), s.data, 'bob');
    await expect
      .poll(() => aliceWatch.out.stderr + bobWatch.out.stderr, { timeout: 10_000 })
      .toMatch(/watching alice[^]*watching bob|watching bob[^]*watching alice/);
    await subscriptionConfirmed(s, 'bob');
    const store = await openStore(s.data);
    await store.deliver({ recipients: ['bob'], body: 'Subject: quiet\r\n\r\nshh\r\n' });
    await store.close();

    await deliverAndNotify(s.data, 'alice', port('biff', 'comsat'));
    expect(await aliceWatch.exited).toBe(0); // --count 1: one line, then done
    expect(aliceWatch.out.stdout).toMatch(/^1\t.*\thello\n$/);
    // Bob's watch prints one notice and exits: it must be his own (sent after alice's), not hers.
    await sendDatagram(port('biff', 'comsat'), 'bob@0\n\0');
    expect(await bobWatch.exited).toBe(0);
    expect(bobWatch.out.stdout).toMatch(/^1\t.*\tquiet\n$/);
  });
});
