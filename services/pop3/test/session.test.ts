/** Protocol transcripts over real loopback sockets against createPop3Server and the in-memory backing. */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@hearth/testkit';
import { MemoryBacking } from '@hearth/pop3';
import { LineClient, testCertificate, sampleBacking, startPop3, transcript, type Harness } from './helpers.js';

const size = (text: string): number => Buffer.byteLength(text.replace(/\r?\n/g, '\r\n'));
const M1 = 'From: bob@localhost\r\nSubject: one\r\n\r\nHello Alice.\r\n.dotted line\r\nbye\r\n';
const M2 = 'From: carol@localhost\nSubject: two\n\nbare LF body\nsecond line\n';
const M3 = 'Subject: three\r\n\r\nthird\r\n';
const TOTAL = size(M1) + size(M2) + size(M3);
const b64 = (text: string): string => Buffer.from(text).toString('base64');

let harness: Harness | undefined;
const clients: LineClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await harness?.close();
  harness = undefined;
});

async function open(options: Parameters<typeof startPop3>[0] = { backing: sampleBacking() }): Promise<{ client: LineClient; greeting: string }> {
  harness ??= await startPop3(options);
  const client = await LineClient.connect(harness.port);
  clients.push(client);
  const greeting = await client.line();
  return { client, greeting };
}

async function another(port = harness!.port): Promise<LineClient> {
  const client = await LineClient.connect(port);
  clients.push(client);
  await client.line();
  return client;
}

describe('POP3 session (RFC 1939)', () => {
  it('greets with an APOP timestamp made only of letters, digits and dots', async () => {
    const { greeting } = await open();
    expect(greeting).toMatch(/^\+OK .* <[A-Za-z0-9.]+@[A-Za-z0-9.-]+>$/);
  });

  it('USER/PASS, STAT, LIST, UIDL, RETR with dot-stuffing and CRLF sizes, TOP, NOOP, QUIT', async () => {
    const { client } = await open();
    await transcript(client, [
      ['USER alice', '+OK Send your password'],
      ['PASS secret', `+OK Logged in, 3 messages (${TOTAL} octets)`],
      ['STAT', `+OK 3 ${TOTAL}`],
      ['LIST', [`+OK 3 messages (${TOTAL} octets)`, `1 ${size(M1)}`, `2 ${size(M2)}`, `3 ${size(M3)}`]],
      ['LIST 2', `+OK 2 ${size(M2)}`],
      ['UIDL', ['+OK Unique-ID listing follows', '1 0000000100000001', '2 0000000200000001', '3 0000000300000001']],
      ['UIDL 3', '+OK 3 0000000300000001'],
      ['RETR 1', [`+OK ${size(M1)} octets`, 'From: bob@localhost', 'Subject: one', '', 'Hello Alice.', '.dotted line', 'bye']],
      ['RETR 2', [`+OK ${size(M2)} octets`, 'From: carol@localhost', 'Subject: two', '', 'bare LF body', 'second line']],
      ['TOP 1 0', ['+OK Top of message follows', 'From: bob@localhost', 'Subject: one', '']],
      ['TOP 1 2', ['+OK Top of message follows', 'From: bob@localhost', 'Subject: one', '', 'Hello Alice.', '.dotted line']],
      ['NOOP', '+OK'],
      ['QUIT', '+OK Hearth POP3 signing off (0 messages deleted)'],
    ]);
    await client.closed();
  });

  it('sends the dot-stuffed bytes on the wire', async () => {
    const { client } = await open();
    await transcript(client, [['USER alice', /^\+OK/], ['PASS secret', /^\+OK/]]);
    client.send('RETR 1');
    expect(await client.line()).toMatch(/^\+OK/);
    const raw: string[] = [];
    for (let i = 0; i < 7; i++) raw.push(await client.line());
    expect(raw).toEqual(['From: bob@localhost', 'Subject: one', '', 'Hello Alice.', '..dotted line', 'bye', '.']);
  });

  it('hides and refuses deleted messages; deletions happen only after QUIT', async () => {
    const backing = sampleBacking();
    const { client } = await open({ backing });
    await transcript(client, [
      ['USER alice', /^\+OK/],
      ['PASS secret', /^\+OK/],
      ['DELE 2', '+OK Message 2 deleted'],
      ['DELE 2', '-ERR Message 2 already deleted'],
      ['RETR 2', '-ERR Message 2 already deleted'],
      ['TOP 2 0', '-ERR Message 2 already deleted'],
      ['LIST 2', '-ERR Message 2 already deleted'],
      ['UIDL 2', '-ERR Message 2 already deleted'],
      ['STAT', `+OK 2 ${size(M1) + size(M3)}`],
      ['LIST', [/^\+OK 2 messages/, `1 ${size(M1)}`, `3 ${size(M3)}`]],
      ['UIDL', [/^\+OK/, '1 0000000100000001', '3 0000000300000001']],
      ['RSET', `+OK Maildrop has 3 messages (${TOTAL} octets)`],
      ['RETR 2', [/^\+OK/, 'From: carol@localhost', 'Subject: two', '', 'bare LF body', 'second line']],
      ['DELE 1', /^\+OK/],
      ['DELE 3', /^\+OK/],
    ]);
    expect(backing.count('alice')).toBe(3);
    await transcript(client, [['QUIT', '+OK Hearth POP3 signing off (2 messages deleted)']]);
    await client.closed();
    expect(backing.count('alice')).toBe(1);
    // The survivor keeps its UIDL and is number 1 in the next session.
    const next = await another();
    await transcript(next, [
      ['USER alice', /^\+OK/],
      ['PASS secret', /^\+OK Logged in, 1 message /],
      ['UIDL', [/^\+OK/, '1 0000000200000001']],
    ]);
  });

  it('a dropped connection deletes nothing and releases the lock (exclusiveLock)', async () => {
    const backing = sampleBacking();
    const { client } = await open({ backing, settings: { exclusiveLock: true } });
    await transcript(client, [['USER alice', /^\+OK/], ['PASS secret', /^\+OK/], ['DELE 1', /^\+OK/], ['DELE 2', /^\+OK/]]);
    expect(backing.isLocked('alice')).toBe(true);
    client.destroy();
    await waitFor(() => !backing.isLocked('alice'), { what: 'the maildrop lock released' });
    expect(backing.count('alice')).toBe(3);
  });

  it('answers bad message numbers and wrong arguments', async () => {
    const { client } = await open();
    await transcript(client, [
      ['USER alice', /^\+OK/],
      ['PASS secret', /^\+OK/],
      ['RETR 0', '-ERR No such message: 0'],
      ['RETR 4', '-ERR No such message: 4'],
      ['RETR -1', '-ERR Invalid message number: -1'],
      ['RETR abc', '-ERR Invalid message number: abc'],
      ['DELE 99999999999', '-ERR Invalid message number: 99999999999'],
      ['LIST 9', '-ERR No such message: 9'],
      ['TOP 1', '-ERR Wrong number of arguments for TOP'],
      ['TOP 1 x', '-ERR Invalid line count: x'],
      ['RETR', '-ERR Wrong number of arguments for RETR'],
      ['STAT 1', '-ERR Wrong number of arguments for STAT'],
      ['STAT', `+OK 3 ${TOTAL}`],
    ]);
  });

  it('refuses commands in the wrong state', async () => {
    const { client } = await open();
    await transcript(client, [
      ['STAT', '-ERR STAT is not valid in this state'],
      ['RETR 1', '-ERR RETR is not valid in this state'],
      ['NOOP', '-ERR NOOP is not valid in this state'],
      ['PASS secret', '-ERR Send USER first'],
      ['USER alice', /^\+OK/],
      ['PASS secret', /^\+OK Logged in/],
      ['USER alice', '-ERR USER is not valid in this state'],
      ['APOP alice 0123456789abcdef0123456789abcdef', '-ERR APOP is not valid in this state'],
      ['AUTH PLAIN', '-ERR AUTH is not valid in this state'],
      ['STLS', '-ERR STLS is not valid in this state'],
    ]);
  });

  it('answers pipelined commands in order', async () => {
    const { client } = await open();
    client.send('USER alice\r\nPASS secret\r\nSTAT\r\nLIST 1\r\nUIDL 1\r\nTOP 3 0\r\nNOOP\r\nQUIT\r\n');
    await transcript(client, [
      [null, /^\+OK Send/],
      [null, /^\+OK Logged in/],
      [null, `+OK 3 ${TOTAL}`],
      [null, `+OK 1 ${size(M1)}`],
      [null, '+OK 1 0000000100000001'],
      [null, ['+OK Top of message follows', 'Subject: three', '']],
      [null, '+OK'],
      [null, /^\+OK Hearth POP3 signing off/],
    ]);
    await client.closed();
  });

  it('gives [IN-USE] to a second session on a locked maildrop (exclusiveLock)', async () => {
    const { client } = await open({ backing: sampleBacking(), settings: { exclusiveLock: true } });
    await transcript(client, [['USER alice', /^\+OK/], ['PASS secret', /^\+OK/]]);
    const second = await another();
    await transcript(second, [
      ['USER alice', /^\+OK/],
      ['PASS secret', '-ERR [IN-USE] Maildrop is locked by another session'],
    ]);
    await transcript(client, [['QUIT', /^\+OK/]]);
    await client.closed();
    await transcript(second, [['USER alice', /^\+OK/], ['PASS secret', /^\+OK Logged in/]]);
  });

  it('wrong passwords get [AUTH] after a delay; then too many failures are refused', async () => {
    const { client } = await open({ backing: sampleBacking(), settings: { maxLoginFailuresPerUser: 2, loginFailureDelay: 200 } });
    const started = Date.now();
    await transcript(client, [['USER alice', /^\+OK/], ['PASS wrong', '-ERR [AUTH] Authentication failed']]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    await transcript(client, [
      ['USER nobody', /^\+OK/], // unknown users look the same
      ['PASS wrong', '-ERR [AUTH] Authentication failed'],
      ['USER alice', /^\+OK/],
      ['PASS wrong-again', '-ERR [AUTH] Authentication failed'], // a new guess: the same one again would not count
      ['USER alice', /^\+OK/],
      ['PASS secret', '-ERR [SYS/TEMP] Too many failed logins; try again later'],
      ['USER bob', /^\+OK/],
      ['PASS hunter2', /^\+OK Logged in/],
    ]);
  });

  it('takes a login name as SMTP AUTH does: the user, or its address in a mail domain, for USER, APOP and AUTH; failures counted together', async () => {
    const { client } = await open({ backing: sampleBacking(), domains: ['Example.Test', 'localhost'], settings: { maxLoginFailuresPerUser: 2 } });
    await transcript(client, [
      ['USER alice@other.example', /^\+OK/],
      ['PASS secret', '-ERR [AUTH] Authentication failed'], // not one of our domains
      ['USER Alice@example.test', /^\+OK/],
      ['PASS secret', /^\+OK Logged in, 3 messages/],
      ['QUIT', /^\+OK/],
    ]);
    const apop = await LineClient.connect(harness!.port);
    clients.push(apop);
    const timestamp = /<[^>]+>/.exec(await apop.line())![0];
    const digest = createHash('md5').update(`${timestamp}apop-secret`).digest('hex');
    await transcript(apop, [[`APOP alice@localhost ${digest}`, /^\+OK Logged in/], ['QUIT', /^\+OK/]]);
    const auth = await another();
    await transcript(auth, [
      [`AUTH PLAIN ${b64('\0bob@example.test\0hunter2')}`, /^\+OK Logged in/],
      ['QUIT', /^\+OK/],
    ]);
    // The address's failures and the bare name's are one user's: the second reaches the limit.
    const failing = await another();
    await transcript(failing, [
      ['USER bob@example.test', /^\+OK/],
      ['PASS wrong', '-ERR [AUTH] Authentication failed'],
      ['USER bob', /^\+OK/],
      ['PASS wrong-again', '-ERR [AUTH] Authentication failed'],
      ['USER bob', /^\+OK/],
      ['PASS hunter2', '-ERR [SYS/TEMP] Too many failed logins; try again later'],
    ]);
  });

  it('a failed login delays only its own session', async () => {
    await open({ backing: sampleBacking(), settings: { loginFailureDelay: 1500 } });
    const slow = await another();
    slow.send('USER alice\r\nPASS wrong\r\n');
    await slow.line();
    const fast = await another();
    const started = Date.now();
    await transcript(fast, [['USER bob', /^\+OK/], ['PASS hunter2', /^\+OK Logged in/]]);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await slow.line()).toBe('-ERR [AUTH] Authentication failed');
  });

  it('APOP with the greeting timestamp', async () => {
    const { client, greeting } = await open();
    const timestamp = /<[^>]+>/.exec(greeting)![0];
    const digest = createHash('md5').update(`${timestamp}apop-secret`).digest('hex');
    await transcript(client, [
      ['APOP alice 0123456789abcdef0123456789abcdef', '-ERR [AUTH] Authentication failed'],
      ['APOP bob 0123456789abcdef0123456789abcdef', '-ERR [AUTH] Authentication failed'], // no APOP secret
      [`APOP alice ${digest}`, /^\+OK Logged in, 3 messages/],
    ]);
  });

  it('refuses a disabled account for every mechanism after the delay of a wrong password, without counting its right password as a failure', async () => {
    const backing = sampleBacking();
    backing.disable('alice');
    const { client, greeting } = await open({ backing, settings: { loginFailureDelay: 300, maxLoginFailuresPerIp: 2 } });
    const timestamp = /<[^>]+>/.exec(greeting)![0];
    const digest = createHash('md5').update(`${timestamp}apop-secret`).digest('hex');
    const started = Date.now();
    await transcript(client, [['USER alice', /^\+OK/], ['PASS secret', '-ERR [AUTH] Authentication failed']]);
    // A timer never fires early: the refusal waited the failure delay as a wrong password does.
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await transcript(client, [
      [`APOP alice ${digest}`, '-ERR [AUTH] Authentication failed'],
      [`AUTH PLAIN ${b64('\0alice\0secret')}`, '-ERR [AUTH] Authentication failed'],
      // Three right passwords of a disabled account from this address, and the limit is 2
      // failures: not refused, since none was a failure.
      ['USER bob', /^\+OK/],
      ['PASS hunter2', /^\+OK Logged in/],
    ]);
  });

  it('AUTH PLAIN and LOGIN: initial response, continuations, = and * (RFC 5034)', async () => {
    // exclusiveLock: the third session's [IN-USE] shows the second really logged in as bob.
    const { client } = await open({ backing: sampleBacking(), settings: { exclusiveLock: true } });
    await transcript(client, [
      ['AUTH', ['+OK Available SASL mechanisms', 'PLAIN', 'LOGIN']],
      ['AUTH CRAM-MD5', '-ERR Unsupported authentication mechanism: CRAM-MD5'],
      ['AUTH PLAIN', '+ '],
      ['*', '-ERR Authentication cancelled'],
      ['AUTH PLAIN =', '-ERR [AUTH] Authentication failed'],
      ['AUTH PLAIN', '+ '],
      ['not base64!', '-ERR Invalid base64 data'],
      ['AUTH LOGIN', `+ ${b64('Username:')}`],
      [b64('alice'), `+ ${b64('Password:')}`],
      ['*', '-ERR Authentication cancelled'],
      [`AUTH PLAIN ${b64('other\0alice\0secret')}`, '-ERR [AUTH] Authentication failed'],
      ['AUTH PLAIN', '+ '],
      [b64('\0alice\0secret'), /^\+OK Logged in/],
    ]);
    const second = await another();
    await transcript(second, [
      [`AUTH LOGIN ${b64('bob')}`, `+ ${b64('Password:')}`],
      [b64('hunter2'), /^\+OK Logged in/],
    ]);
    const third = await another();
    await transcript(third, [[`AUTH PLAIN ${b64('bob\0bob\0hunter2')}`, '-ERR [IN-USE] Maildrop is locked by another session']]);
  });

  it('CAPA lists what the state allows', async () => {
    const cert = testCertificate();
    const { client } = await open({ backing: sampleBacking(), cert });
    const common = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING'];
    await transcript(client, [
      ['CAPA', ['+OK Capability list follows', ...common, 'USER', 'SASL PLAIN LOGIN', 'STLS', 'X-HEARTH-PUSH', 'X-HEARTH-SEND 25000000', 'IMPLEMENTATION Hearth']],
      ['USER alice', /^\+OK/],
      ['PASS secret', /^\+OK/],
      ['CAPA', ['+OK Capability list follows', ...common, 'X-HEARTH-PUSH', 'X-HEARTH-SEND 25000000', 'IMPLEMENTATION Hearth']],
    ]);
  });

  it('refuses plaintext logins off loopback without TLS, and allows them after STLS', async () => {
    const cert = testCertificate();
    const { client } = await open({ backing: sampleBacking(), cert, isLoopback: () => false });
    const refused = /^-ERR \[AUTH\] Plaintext authentication disallowed on non-secure \(SSL\/TLS\) connections/;
    await transcript(client, [
      ['CAPA', [/^\+OK/, 'TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'STLS', 'X-HEARTH-PUSH', 'X-HEARTH-SEND 25000000', 'IMPLEMENTATION Hearth']],
      ['USER alice', refused],
      ['AUTH PLAIN', refused],
      [`AUTH PLAIN ${b64('\0alice\0secret')}`, refused],
      ['AUTH', ['+OK Available SASL mechanisms']],
      ['STLS', '+OK Begin TLS negotiation'],
    ]);
    await client.startTls(cert);
    await transcript(client, [
      ['CAPA', [/^\+OK/, 'TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'USER', 'SASL PLAIN LOGIN', 'X-HEARTH-PUSH', 'X-HEARTH-SEND 25000000', 'IMPLEMENTATION Hearth']],
      ['STLS', '-ERR Command not permitted when TLS active'],
      ['USER alice', /^\+OK/],
      ['PASS secret', /^\+OK Logged in/],
    ]);
  });

  it('the config can allow plaintext logins off loopback', async () => {
    const { client } = await open({ backing: sampleBacking(), isLoopback: () => false, settings: { allowPlaintextAuth: true } });
    await transcript(client, [['USER alice', /^\+OK/], ['PASS secret', /^\+OK Logged in/]]);
  });

  it('STLS discards commands pipelined after it; not offered without a certificate', async () => {
    const cert = testCertificate();
    const backing = sampleBacking();
    const { client } = await open({ backing, cert });
    client.send('STLS\r\nUSER alice\r\nPASS secret\r\n');
    await transcript(client, [[null, '+OK Begin TLS negotiation']]);
    await client.startTls(cert);
    await transcript(client, [['STAT', '-ERR STAT is not valid in this state'], ['NOOP', /NOOP is not valid/]]);
    expect(backing.isLocked('alice')).toBe(false);
    await harness!.close();
    harness = undefined;
    const { client: plain } = await open({ backing: sampleBacking() });
    await transcript(plain, [
      ['CAPA', [/^\+OK/, 'TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'USER', 'SASL PLAIN LOGIN', 'X-HEARTH-PUSH', 'X-HEARTH-SEND 25000000', 'IMPLEMENTATION Hearth']],
      ['STLS', '-ERR STLS is not available'],
    ]);
  });

  it('connections are counted down after STLS and implicit-TLS sessions end', async () => {
    const cert = testCertificate();
    const { client } = await open({ backing: sampleBacking(), cert, settings: { maxConnectionsPerIp: 2 } });
    await transcript(client, [['STLS', /^\+OK/]]);
    await client.startTls(cert);
    await transcript(client, [['QUIT', /^\+OK/]]);
    await client.closed();
    const secure = await LineClient.connectTls(harness!.tlsPort, cert);
    clients.push(secure);
    await transcript(secure, [[null, /^\+OK/], ['QUIT', /^\+OK/]]);
    await secure.closed();
    await waitFor(() => harness!.pop3.connections === 0, { what: 'the finished sessions no longer counted' });
    // The per-address limit of 2 was not eaten by the finished sessions.
    await another();
    await another();
  });

  it('implicit TLS: no STLS offered, plaintext allowed', async () => {
    const cert = testCertificate();
    harness = await startPop3({ backing: sampleBacking(), cert, isLoopback: () => false });
    const client = await LineClient.connectTls(harness.tlsPort, cert);
    clients.push(client);
    expect(await client.line()).toMatch(/^\+OK Hearth POP3 ready </);
    await transcript(client, [
      ['CAPA', [/^\+OK/, 'TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'USER', 'SASL PLAIN LOGIN', 'X-HEARTH-PUSH', 'X-HEARTH-SEND 25000000', 'IMPLEMENTATION Hearth']],
      ['STLS', '-ERR Command not permitted when TLS active'],
      ['USER alice', /^\+OK/],
      ['PASS secret', /^\+OK Logged in/],
    ]);
  });

  it('answers an over-long line and goes on; drops clients after too many bad commands', async () => {
    const { client } = await open({ backing: sampleBacking(), settings: { maxLineLength: 300, maxBadCommands: 3 } });
    await transcript(client, [
      [`USER ${'x'.repeat(400)}`, '-ERR Line too long'],
      ['USER alice', /^\+OK/],
      ['FOO', '-ERR Unknown command: FOO'],
      ['', '-ERR Empty command'],
      ['BAR', '-ERR Too many bad commands; closing the connection'],
    ]);
    await client.closed();
  });

  it('autologout closes an idle session without deleting anything', async () => {
    const backing = sampleBacking();
    const { client } = await open({ backing, settings: { autologout: 300 } });
    await transcript(client, [['USER alice', /^\+OK/], ['PASS secret', /^\+OK/], ['DELE 1', /^\+OK/]]);
    expect(await client.line()).toBe('-ERR Autologout: idle for too long');
    await client.closed();
    expect(backing.count('alice')).toBe(3);
    expect(backing.isLocked('alice')).toBe(false);
  });

  it('limits connections per address and sessions per user', async () => {
    const { client } = await open({ backing: sampleBacking(), settings: { maxConnectionsPerIp: 2, maxConnectionsPerUser: 1 } });
    const second = await another();
    const third = await LineClient.connect(harness!.port);
    clients.push(third);
    expect(await third.line()).toBe('-ERR [SYS/TEMP] Too many connections from your address');
    await third.closed();
    await transcript(client, [['USER alice', /^\+OK/], ['PASS secret', /^\+OK Logged in/]]);
    await transcript(second, [['USER alice', /^\+OK/], ['PASS secret', '-ERR [SYS/TEMP] Too many sessions for this user']]);
  });

  it('an error in the backing is answered [SYS/TEMP] without details', async () => {
    const backing = sampleBacking();
    backing.openMaildrop = async () => {
      throw new Error('disk on fire at /secret/path');
    };
    const { client } = await open({ backing });
    await transcript(client, [
      ['USER alice', /^\+OK/],
      ['PASS secret', '-ERR [SYS/TEMP] Internal error; try again later'],
      ['USER bob', /^\+OK/],
    ]);
  });

  it('stop() drains: open sessions go on (one not yet logged in logs in and works), new ones are refused, the silent one gets the goodbye', async () => {
    const backing = sampleBacking();
    const { client: greeted } = await open({ backing });
    const busy = await another();
    const silent = await another();
    await transcript(busy, [['USER alice', /^\+OK/], ['PASS secret', /^\+OK/], ['DELE 1', /^\+OK/]]);
    const stopped = harness!.pop3.stop(Date.now() + 3000);
    const late = await LineClient.connect(harness!.port);
    clients.push(late);
    expect(await late.line()).toBe('-ERR [SYS/TEMP] Server shutting down; try again later');
    await transcript(greeted, [
      ['USER bob', /^\+OK/],
      ['PASS hunter2', /^\+OK/],
      ['STAT', '+OK 0 0'],
      ['QUIT', /^\+OK/],
    ]);
    await transcript(busy, [['STAT', /^\+OK 2 /], ['RETR 2', [/^\+OK/, 'From: carol@localhost', 'Subject: two', '', 'bare LF body', 'second line']], ['QUIT', /^\+OK .*1 message deleted/]]);
    expect(await silent.line()).toBe('-ERR [SYS/TEMP] Server shutting down; try again later');
    await silent.closed();
    await stopped;
    expect(backing.count('alice')).toBe(2);
  });

  it('works on a maildrop with no messages', async () => {
    const backing = new MemoryBacking().addUser('empty', 'pw');
    const { client } = await open({ backing });
    await transcript(client, [
      ['USER empty', /^\+OK/],
      ['PASS pw', '+OK Logged in, 0 messages (0 octets)'],
      ['STAT', '+OK 0 0'],
      ['LIST', ['+OK 0 messages (0 octets)']],
      ['UIDL', ['+OK Unique-ID listing follows']],
      ['RETR 1', '-ERR No such message: 1'],
      ['QUIT', /^\+OK/],
    ]);
  });
});
