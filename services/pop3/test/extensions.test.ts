/**
 * Hearth's extensions (README "X-HEARTH-PUSH" and "X-HEARTH-SEND") as transcripts over loopback,
 * with the in-memory backing and a fake bus standing in for the supervisor and biff.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@hearth/testkit';
import { createLogger } from '@hearth/log';
import { PushHub, type MemoryBacking } from '@hearth/pop3';
import { FakeBus, LineClient, removeDir, sampleBacking, startPop3, transcript, type Harness, type HarnessOptions } from './helpers.js';

const size = (text: string): number => Buffer.byteLength(text.replace(/\r?\n/g, '\r\n'));
const TOTAL = [
  'From: bob@localhost\r\nSubject: one\r\n\r\nHello Alice.\r\n.dotted line\r\nbye\r\n',
  'From: carol@localhost\nSubject: two\n\nbare LF body\nsecond line\n',
  'Subject: three\r\n\r\nthird\r\n',
].reduce((sum, m) => sum + size(m), 0); // helpers.sampleBacking()
const UIDL = /^[0-9a-f]{16}$/;

let harness: Harness | undefined;
const clients: LineClient[] = [];
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await harness?.close();
  harness = undefined;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function start(options: Partial<HarnessOptions> = {}): Promise<{ backing: MemoryBacking; bus: FakeBus }> {
  const backing = (options.backing as MemoryBacking | undefined) ?? sampleBacking();
  const bus = (options.bus as FakeBus | undefined) ?? new FakeBus();
  harness = await startPop3({ ...options, backing, bus });
  return { backing, bus };
}

async function login(user: string, password: string): Promise<LineClient> {
  const client = await LineClient.connect(harness!.port);
  clients.push(client);
  await client.line();
  await transcript(client, [[`USER ${user}`, /^\+OK/], [`PASS ${password}`, /^\+OK Logged in/]]);
  return client;
}

/** Wait until `check` holds (bounded). */
async function until(check: () => boolean, what: string): Promise<void> {
  await waitFor(check, { what });
}

describe('X-HEARTH-PUSH (XIDLE)', () => {
  it('CAPA lists both extensions after login too', async () => {
    await start({ settings: { maxSendSize: 5000 } });
    const alice = await login('alice', 'secret');
    await transcript(alice, [
      ['CAPA', [/^\+OK/, 'TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'X-HEARTH-PUSH', 'X-HEARTH-SEND 5000', 'IMPLEMENTATION Hearth']],
    ]);
  });

  it('enters and leaves waiting; subscribes with biff for the first waiter and unsubscribes after the last', async () => {
    const { bus } = await start();
    expect(bus.sent).toEqual([{ to: 'biff', topic: 'biff.reset', payload: { instance: 4242 } }]);
    const alice = await login('alice', 'secret');
    await transcript(alice, [['XIDLE', '+OK Waiting for new mail; send DONE to stop']]);
    await until(() => bus.sent.length === 2, 'biff.subscribe');
    expect(bus.sent[1]).toEqual({ to: 'biff', topic: 'biff.subscribe', payload: { user: 'alice', instance: 4242 } });
    await transcript(alice, [
      ['DONE', `+OK Done waiting, 3 messages (${TOTAL} octets)`],
      ['STAT', `+OK 3 ${TOTAL}`],
    ]);
    expect(bus.sent[2]).toEqual({ to: 'biff', topic: 'biff.unsubscribe', payload: { user: 'alice', instance: 4242 } });
    // Any other line ends the wait with -ERR and is not run.
    await transcript(alice, [
      ['XIDLE', /^\+OK/],
      ['DELE 1', '-ERR Done waiting: only DONE is valid while waiting'],
      ['STAT', `+OK 3 ${TOTAL}`],
      ['XIDLE', /^\+OK/],
      ['done', /^\+OK Done waiting/],
      ['QUIT', '+OK Hearth POP3 signing off (0 messages deleted)'],
    ]);
    expect(bus.topics()).toEqual(['biff.reset', 'biff.subscribe', 'biff.unsubscribe', 'biff.subscribe', 'biff.unsubscribe', 'biff.subscribe', 'biff.unsubscribe']);
  });

  it('XIDLE is refused before login; a dropped waiting session unsubscribes', async () => {
    const { bus } = await start();
    const anon = await LineClient.connect(harness!.port);
    clients.push(anon);
    await anon.line();
    await transcript(anon, [['XIDLE', '-ERR XIDLE is not valid in this state'], ['DONE', '-ERR Unknown command: DONE']]);
    const alice = await login('alice', 'secret');
    await transcript(alice, [['XIDLE', /^\+OK/]]);
    await until(() => bus.topics().includes('biff.subscribe'), 'subscribe');
    alice.destroy();
    await until(() => bus.topics().includes('biff.unsubscribe'), 'unsubscribe');
  });

  it('pushes what biff announces (no message id: the index tells), only to that user, and the list grows', async () => {
    const { backing, bus } = await start();
    const alice = await login('alice', 'secret');
    const bob = await login('bob', 'hunter2');
    await transcript(alice, [['XIDLE', /^\+OK/]]);
    await transcript(bob, [['XIDLE', /^\+OK/]]);
    const body = 'Subject: four\r\n\r\nfourth\r\n';
    const uidl = backing.add('alice', body);
    bus.emit('mail.notify', { user: 'alice', maildrop: 'INBOX', source: 'comsat' });
    expect(await alice.line()).toBe(`* NEW 4 ${uidl} ${size(body)}`);
    // A notify for nobody waiting, and junk, change nothing.
    bus.emit('mail.notify', { user: 'carol', maildrop: 'INBOX', source: 'comsat' });
    bus.emit('mail.notify', 'junk');
    await transcript(bob, [['DONE', '+OK Done waiting, 0 messages (0 octets)']]);
    await transcript(alice, [
      ['DONE', `+OK Done waiting, 4 messages (${TOTAL + size(body)} octets)`],
      ['LIST 4', `+OK 4 ${size(body)}`],
      ['UIDL 4', `+OK 4 ${uidl}`],
      ['RETR 4', [`+OK ${size(body)} octets`, 'Subject: four', '', 'fourth']],
      ['DELE 4', '+OK Message 4 deleted'],
      ['QUIT', '+OK Hearth POP3 signing off (1 message deleted)'],
    ]);
    expect(backing.count('alice')).toBe(3);
  });

  it('catches up on XIDLE with what arrived since login, numbered after the login snapshot', async () => {
    const { backing } = await start();
    const alice = await login('alice', 'secret');
    await transcript(alice, [['STAT', `+OK 3 ${TOTAL}`]]);
    const u4 = backing.add('alice', 'a\r\n');
    const u5 = backing.add('alice', 'b\r\n');
    await transcript(alice, [['STAT', `+OK 3 ${TOTAL}`], ['XIDLE', /^\+OK/]]);
    expect(await alice.line()).toBe(`* NEW 4 ${u4} 3`);
    expect(await alice.line()).toBe(`* NEW 5 ${u5} 3`);
    await transcript(alice, [['DONE', `+OK Done waiting, 5 messages (${TOTAL + 6} octets)`]]);
  });

  it('ends the wait with a final line on autologout', async () => {
    await start({ settings: { autologout: 300 } });
    const alice = await login('alice', 'secret');
    await transcript(alice, [['XIDLE', /^\+OK/]]);
    expect(await alice.line()).toBe('-ERR Autologout: idle for too long');
    await alice.closed();
  });

  it('ends the wait and the session with [SYS/TEMP] when its credentials cannot be checked, pushing nothing unchecked', async () => {
    const backing = sampleBacking();
    let broken = false;
    const stampOf = backing.credentialStamp.bind(backing);
    backing.credentialStamp = (user) => {
      if (broken) throw new Error('accounts database unreadable');
      return stampOf(user);
    };
    await start({ backing, settings: { credentialCheckInterval: 100 } });
    const bob = await login('bob', 'hunter2');
    await transcript(bob, [['XIDLE', /^\+OK/]]);
    broken = true;
    expect(await bob.line()).toBe('-ERR [SYS/TEMP] Internal error; try again later');
    await bob.closed();
  });

  it('a waiting session goes on while the server drains, and ends with the goodbye line', async () => {
    await start();
    const bob = await login('bob', 'hunter2');
    await transcript(bob, [['XIDLE', /^\+OK/]]);
    const stopping = harness!.pop3.stop(Date.now() + 1500);
    expect(await bob.line()).toBe('-ERR [SYS/TEMP] Server shutting down; try again later');
    await bob.closed();
    await stopping;
  });

  it('closes a waiting client that does not read its notifications (bounded backlog)', async () => {
    // A Unix socket: its small kernel buffer fills after a few thousand lines (loopback TCP takes megabytes).
    const { backing, bus } = await start({ settings: { maxPendingPushes: 100 }, isLoopback: () => true });
    const dir = mkdtempSync(join(tmpdir(), 'pop3-unix-'));
    const path = join(dir, 'pop3.sock');
    const server: Server = createServer((socket) => harness!.pop3.handle(socket, { implicitTls: false }));
    await new Promise<void>((resolve) => server.listen(path, resolve));
    cleanups.push(() => {
      server.close();
      removeDir(dir);
    });
    const alice = await LineClient.connectPath(path);
    clients.push(alice);
    await alice.line();
    await transcript(alice, [['USER alice', /^\+OK/], ['PASS secret', /^\+OK/], ['XIDLE', /^\+OK/]]);
    alice.socket.pause();
    let delivered = 0;
    for (let round = 0; round < 200 && backing.isLocked('alice'); round++) {
      for (let i = 0; i < 500; i++) backing.add('alice', 'x\r\n');
      delivered += 500;
      bus.emit('mail.notify', { user: 'alice', maildrop: 'INBOX', source: 'comsat' });
      await new Promise((r) => setTimeout(r, 10));
    }
    // The session ended (lock released) long before the client could have read everything.
    expect(backing.isLocked('alice')).toBe(false);
    expect(delivered).toBeLessThan(100_000);
    // Nothing was deleted.
    expect(backing.count('alice')).toBe(3 + delivered);
  });
});

describe('X-HEARTH-SEND (XSEND)', () => {
  it('delivers locally with trace headers, announces mail.delivered, and pushes to the waiting recipient', async () => {
    const { backing, bus } = await start({ domains: ['example.org', 'localhost'] });
    const alice = await login('alice', 'secret');
    const bob = await login('bob', 'hunter2');
    await transcript(alice, [['XIDLE', /^\+OK/]]);
    await transcript(bob, [['XSEND alice@Example.org', '+OK Send the message, end with a line holding only "."']]);
    bob.send('Subject: hi\r\n\r\nHello\r\n..leading dot\r\n.');
    expect(await bob.line()).toMatch(/^\+OK Message [0-9a-f]{12} delivered to 1 maildrop$/);
    const pushed = await alice.line();
    expect(pushed).toMatch(/^\* NEW 4 [0-9a-f]{16} \d+$/);
    const [, , , uidl, octets] = pushed.split(' ');
    expect(uidl).toMatch(UIDL);
    const stored = backing.last('alice')!.toString();
    expect(stored).toMatch(/^Return-Path: <bob@example\.org>\r\nReceived: from bob \(\[127\.0\.0\.1\]\)\r\n\tby \S+ \(Hearth\) with POP3 id [0-9a-f]{12}\r\n\tfor <alice>; \w{3}, \d+ \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r\nDate: \w{3}, \d+ \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r\nMessage-ID: <[0-9a-z]+\.[0-9a-f]{16}@\S+>\r\nFrom: <bob@example\.org>\r\nSubject: hi\r\n\r\nHello\r\n\.leading dot\r\n$/);
    expect(Number(octets)).toBe(Buffer.byteLength(stored));
    expect(bus.published).toEqual([
      { topic: 'mail.delivered', payload: { source: 'hearth', user: 'alice', maildrop: 'INBOX', messageId: expect.any(Number), uid: expect.any(Number), uidl, size: Number(octets) } },
    ]);
    await transcript(alice, [
      ['DONE', /^\+OK Done waiting, 4 messages/],
      ['TOP 4 1', [/^\+OK/, 'Return-Path: <bob@example.org>', /^Received:/, /^\tby/, /^\tfor <alice>/, /^Date: /, /^Message-ID: /, 'From: <bob@example.org>', 'Subject: hi', '', 'Hello']],
    ]);
    // The sender's session goes on.
    await transcript(bob, [['STAT', '+OK 0 0'], ['NOOP', '+OK']]);
  });

  it('refuses relaying, unknown users and oversized messages, and the session goes on', async () => {
    const { backing, bus } = await start({ settings: { maxSendSize: 1024 } });
    const bob = await login('bob', 'hunter2');
    await transcript(bob, [
      ['XSEND alice@elsewhere.example', '-ERR Relaying is not configured: alice@elsewhere.example is not a local address'],
      ['XSEND alice <nobody@localhost>', '-ERR No such local user: <nobody@localhost>'],
      ['XSEND', '-ERR Wrong number of arguments for XSEND'],
      ['XSEND <alice@localhost> alice', /^\+OK Send the message/],
    ]);
    bob.send(`Subject: big\r\n\r\n${'y'.repeat(100)}\r\n`.repeat(20) + '.');
    await transcript(bob, [[null, '-ERR Message too large (at most 1024 octets); nothing was delivered'], ['NOOP', '+OK']]);
    expect(backing.count('alice')).toBe(3);
    await transcript(bob, [['XSEND alice', /^\+OK/]]);
    bob.send(`${'z'.repeat(5000)}\r\n.`);
    await transcript(bob, [[null, '-ERR Message line too long; nothing was delivered']]);
    expect(bus.published).toEqual([]);
    await transcript(bob, [['XSEND alice alice', /^\+OK/], ['small\r\n.', /^\+OK Message \w+ delivered to 1 maildrop$/]]);
    expect(backing.count('alice')).toBe(4);
  });

  it('takes a recipient whose local part is quoted, as SMTP does: looked up unquoted, spaces and quoted-pairs inside the quotes', async () => {
    const { backing } = await start({ domains: ['example.org', 'localhost'] });
    const bob = await login('bob', 'hunter2');
    await transcript(bob, [['XSEND "alice"@localhost', /^\+OK Send the message/], ['Subject: one\r\n\r\nquoted\r\n.', /^\+OK Message \w+ delivered to 1 maildrop$/]]);
    expect(backing.count('alice')).toBe(4);
    // A quoted-pair, another of our domains, a bare quoted local part, angle brackets: alice and bob, once each.
    await transcript(bob, [
      ['XSEND "Al\\ice"@Example.org "bob" <"alice"@localhost> <"B\\ob"@example.org>', /^\+OK Send the message/],
      ['Subject: two\r\n\r\nquoted\r\n.', /^\+OK Message \w+ delivered to 2 maildrops$/],
    ]);
    expect([backing.count('alice'), backing.count('bob')]).toEqual([5, 1]);
    expect(backing.last('bob')!.toString()).toMatch(/\r\nSubject: two\r\n/);
    // A space inside the quotes is the local part's own: no user has it, nor an empty name.
    await transcript(bob, [
      ['XSEND alice "john doe"@localhost', '-ERR No such local user: "john doe"@localhost'],
      ['XSEND "alice smith" bob', '-ERR No such local user: "alice smith"'],
      ['XSEND ""@localhost', '-ERR No such local user: ""@localhost'],
      ['XSEND "alice"@elsewhere.example', '-ERR Relaying is not configured: "alice"@elsewhere.example is not a local address'],
      ['XSEND "a b"@elsewhere.example', '-ERR Relaying is not configured: "a b"@elsewhere.example is not a local address'],
      // 100 recipients with a space each are 100, not 200: past the quoting, the first is unknown.
      [`XSEND ${'"x y"@localhost '.repeat(100)}`, '-ERR No such local user: "x y"@localhost'],
      [`XSEND ${'"x y"@localhost '.repeat(101)}`, '-ERR Too many recipients (at most 100)'],
      ['NOOP', '+OK'],
    ]);
    expect([backing.count('alice'), backing.count('bob')]).toEqual([5, 1]);
  });

  it('refuses bad quoting, naming the problem, delivers nothing and goes on', async () => {
    const { backing, bus } = await start({ settings: { maxBadCommands: 20 } });
    const bob = await login('bob', 'hunter2');
    await transcript(bob, [
      ['XSEND "alice@localhost', '-ERR Bad recipient address syntax: the quoted local part has no closing quote'],
      ['XSEND alice "bob', '-ERR Bad recipient address syntax: the quoted local part has no closing quote'],
      ['XSEND "alice\\', '-ERR Bad recipient address syntax: the quoted local part has no closing quote'],
      ['XSEND "al\x01ice"@localhost', '-ERR Bad recipient address syntax: a control character in the quoted local part'],
      ['XSEND "al\tice"@localhost', '-ERR Bad recipient address syntax: a control character in the quoted local part'],
      ['XSEND "al\u200bice"@localhost', '-ERR Bad recipient address syntax: an invisible formatting character in the quoted local part'],
      ['XSEND "al\\öce"@localhost', '-ERR Bad recipient address syntax: a backslash in the quoted local part quotes only a printable ASCII character'],
      ['XSEND "alice".x@localhost', '-ERR Bad recipient address syntax: the quoted local part must be followed by @ and the domain, or end the recipient'],
      ['XSEND  ', '-ERR Wrong number of arguments for XSEND'],
      ['STAT', '+OK 0 0'],
      ['XSEND "alice" alice', /^\+OK Send the message/],
      ['Subject: after\r\n\r\nfine\r\n.', /^\+OK Message \w+ delivered to 1 maildrop$/],
    ]);
    expect(backing.count('alice')).toBe(4);
    expect(bus.published).toHaveLength(1);
  });

  it('a message cut off by a dropped connection is not delivered', async () => {
    const { backing } = await start();
    const bob = await login('bob', 'hunter2');
    await transcript(bob, [['XSEND alice', /^\+OK/]]);
    bob.send('Subject: cut\r\n\r\nhalf a message\r\n');
    await new Promise((r) => setTimeout(r, 50));
    bob.destroy();
    await until(() => !backing.isLocked('bob'), 'the session to end');
    expect(backing.count('alice')).toBe(3);
  });
});

describe('byte-exact input', () => {
  it('decodes command lines as UTF-8 (passwords) while XSEND keeps the message bytes as sent', async () => {
    const backing = sampleBacking().addUser('dora', 'pässwörd');
    await start({ backing });
    const dora = await login('dora', 'pässwörd');
    await transcript(dora, [['XSEND alice', /^\+OK/]]);
    const latin1 = Buffer.from('Subject: caf\xe9\r\n\r\nna\xefve \xff\r\n.\r\n', 'latin1');
    dora.socket.write(latin1);
    await transcript(dora, [[null, /^\+OK Message/]]);
    expect(backing.last('alice')!.subarray(-latin1.length + 3)).toEqual(latin1.subarray(0, -3));
  });
});

describe('PushHub', () => {
  it('subscribes once per user for several waiters and unsubscribes after the last; wakes only that user', () => {
    const bus = new FakeBus();
    const hub = new PushHub(bus, createLogger({ svc: 'pop3', level: 'silent' }), 7);
    hub.start();
    const woken: string[] = [];
    const a1 = { wake: () => woken.push('a1') };
    const a2 = { wake: () => woken.push('a2') };
    const b = { wake: () => woken.push('b') };
    hub.add('Alice', a1);
    hub.add('alice', a2);
    hub.add('bob', b);
    bus.emit('mail.notify', { user: 'ALICE', maildrop: 'INBOX', source: 'comsat' });
    expect(woken).toEqual(['a1', 'a2']);
    hub.remove('alice', a1);
    hub.remove('alice', a1);
    hub.remove('alice', a2);
    hub.delivered([{ source: 'hearth', user: 'bob', maildrop: 'INBOX', messageId: 1, uid: 2, uidl: '0000000200000001', size: 3 }]);
    expect(woken).toEqual(['a1', 'a2', 'b']);
    expect(bus.sent).toEqual([
      { to: 'biff', topic: 'biff.reset', payload: { instance: 7 } },
      { to: 'biff', topic: 'biff.subscribe', payload: { user: 'alice', instance: 7 } },
      { to: 'biff', topic: 'biff.subscribe', payload: { user: 'bob', instance: 7 } },
      { to: 'biff', topic: 'biff.unsubscribe', payload: { user: 'alice', instance: 7 } },
    ]);
    expect(bus.published).toEqual([
      { topic: 'mail.delivered', payload: { source: 'hearth', user: 'bob', maildrop: 'INBOX', messageId: 1, uid: 2, uidl: '0000000200000001', size: 3 } },
    ]);
  });

  it('subscribes again, after a reset, when biff announces a fresh start', () => {
    const bus = new FakeBus();
    const hub = new PushHub(bus, createLogger({ svc: 'pop3', level: 'silent' }), 9);
    hub.start();
    const carol = { wake: () => {} };
    hub.add('alice', { wake: () => {} });
    hub.add('bob', { wake: () => {} });
    hub.add('carol', carol);
    hub.remove('carol', carol);
    bus.sent.length = 0;
    bus.emit('biff.started', { instance: 1234 });
    expect(bus.sent).toEqual([
      { to: 'biff', topic: 'biff.reset', payload: { instance: 9 } },
      { to: 'biff', topic: 'biff.subscribe', payload: { user: 'alice', instance: 9 } },
      { to: 'biff', topic: 'biff.subscribe', payload: { user: 'bob', instance: 9 } },
    ]);
  });
});
