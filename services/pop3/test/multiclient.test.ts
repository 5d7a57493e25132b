/**
 * Several clients of one user at once over the real store (the default, as Dovecot's): each
 * session works on the snapshot taken at its login, a DELE takes effect at its own QUIT, a
 * message another session deleted meanwhile answers -ERR on RETR/TOP (the session goes on, the
 * message never comes back), UIDLs stay stable, and a waiting XIDLE session (`hearth mail watch`)
 * holds nothing and still pushes exactly. Under `exclusiveLock` a second session gets [IN-USE].
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSuiteAccounts, type Accounts } from '@hearth/accounts';
import { openMailStore, type MailStore } from '@hearth/mail-store';
import { storeBacking } from '@hearth/pop3';
import { LineClient, loginClient, removeDir, startPop3, transcript, type Harness } from './helpers.js';

let dir: string;
let store: MailStore;
/** Another store instance on the same directory: what SMTP or a second POP3 process would be. */
let other: MailStore;
let accounts: Accounts;
let harness: Harness | undefined;
const clients: LineClient[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pop3-multiclient-'));
  store = await openMailStore({ dir: join(dir, 'mail') });
  other = await openMailStore({ dir: join(dir, 'mail') });
  accounts = await openSuiteAccounts(dir, { passwordParams: { ln: 4, r: 8, p: 1 } });
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await harness?.close();
  harness = undefined;
});

afterAll(async () => {
  await other?.close();
  await store?.close();
  await accounts?.close();
  removeDir(dir);
});

let users = 0;
/** A fresh user with `bodies` delivered; returns the name and the messages' UIDLs. */
async function userWith(bodies: readonly string[]): Promise<{ user: string; uidls: string[] }> {
  const user = `user${++users}`;
  store.addMaildrop(user);
  await accounts.add(user, 'pw');
  const uidls: string[] = [];
  for (const body of bodies) {
    const [copy] = await store.deliver({ recipients: [user], body });
    uidls.push(copy!.uidl);
  }
  return { user, uidls };
}

async function login(user: string, expected: RegExp = /^\+OK Logged in/): Promise<LineClient> {
  return loginClient(harness!.port, clients, user, 'pw', expected);
}

const small = (n: number): string => `Subject: ${n}\r\n\r\nmessage ${n}\r\n`;
/** Stored as a body file, not in the index. */
const large = (n: number): string => `Subject: ${n}\r\n\r\n${'x'.repeat(100_000)}\r\n`;
const size = (body: string): number => Buffer.byteLength(body);

describe('several sessions of one user', () => {
  it('two: each keeps its login snapshot; a DELE takes effect at its own QUIT; the other gets -ERR for it', async () => {
    harness = await startPop3({ backing: storeBacking(store, accounts) });
    const bodies = [small(1), large(2), small(3)];
    const { user, uidls } = await userWith(bodies);
    const total = bodies.reduce((sum, b) => sum + size(b), 0);
    const phone = await login(user, new RegExp(`^\\+OK Logged in, 3 messages \\(${total} octets\\)`));
    const laptop = await login(user, /^\+OK Logged in, 3 messages/);
    await transcript(phone, [['DELE 1', /^\+OK/], ['DELE 2', /^\+OK/]]);
    // Marked by the phone, not deleted yet: the laptop still reads them.
    await transcript(laptop, [['RETR 1', [`+OK ${size(small(1))} octets`, 'Subject: 1', '', 'message 1']], ['TOP 2 0', ['+OK Top of message follows', 'Subject: 2', '']]]);
    await transcript(phone, [['QUIT', '+OK Hearth POP3 signing off (2 messages deleted)']]);
    await phone.closed();
    await transcript(laptop, [
      ['RETR 2', '-ERR Message 2 was deleted by another session'],
      ['TOP 1 0', '-ERR Message 1 was deleted by another session'],
      ['RETR 3', [`+OK ${size(small(1))} octets`, 'Subject: 3', '', 'message 3']],
      // The snapshot of the login: the same numbers and UIDLs.
      ['STAT', `+OK 3 ${total}`],
      ['UIDL', ['+OK Unique-ID listing follows', `1 ${uidls[0]}`, `2 ${uidls[1]}`, `3 ${uidls[2]}`]],
      ['LIST 2', `+OK 2 ${size(bodies[1]!)}`],
      // Deleting what is gone already is no error; message 3 goes at this QUIT.
      ['DELE 2', '+OK Message 2 deleted'],
      ['DELE 3', '+OK Message 3 deleted'],
      ['QUIT', '+OK Hearth POP3 signing off (2 messages deleted)'],
    ]);
    expect(store.listMessages(user)).toEqual([]);
    // Nothing comes back, in a new session or in the listing cache.
    const later = await login(user, /^\+OK Logged in, 0 messages \(0 octets\)/);
    await transcript(later, [['UIDL', ['+OK Unique-ID listing follows']], ['QUIT', /^\+OK/]]);
  });

  it('five (phone, laptop, tablet, desktop, and a waiting XIDLE): interleaved DELE, QUIT and RETR', async () => {
    harness = await startPop3({ backing: storeBacking(store, accounts), domains: ['example.org'] });
    const bodies = [small(1), large(2), small(3), large(4), small(5)];
    const { user, uidls } = await userWith(bodies);
    const watch = await login(user, /^\+OK Logged in, 5 messages/);
    await transcript(watch, [['XIDLE', '+OK Waiting for new mail; send DONE to stop']]);
    const [phone, laptop, tablet, desktop] = [
      await login(user, /^\+OK Logged in, 5 messages/),
      await login(user, /^\+OK Logged in, 5 messages/),
      await login(user, /^\+OK Logged in, 5 messages/),
      await login(user, /^\+OK Logged in, 5 messages/),
    ] as const;
    await transcript(phone, [['DELE 1', /^\+OK/], ['DELE 2', /^\+OK/]]);
    await transcript(laptop, [['DELE 2', /^\+OK/], ['DELE 3', /^\+OK/]]);
    await transcript(phone, [['QUIT', '+OK Hearth POP3 signing off (2 messages deleted)']]);
    await transcript(tablet, [
      ['RETR 1', '-ERR Message 1 was deleted by another session'],
      ['RETR 2', '-ERR Message 2 was deleted by another session'],
      ['RETR 3', [`+OK ${size(small(1))} octets`, 'Subject: 3', '', 'message 3']],
      ['NOOP', '+OK'],
    ]);
    // The laptop marked 2 as well: its QUIT removes only 3, and says what it was asked.
    await transcript(laptop, [['QUIT', '+OK Hearth POP3 signing off (2 messages deleted)']]);
    expect(store.listMessages(user).map((m) => m.uidl)).toEqual([uidls[3], uidls[4]]);
    // New mail while the watcher waits: through this server (pushed from the notice) ...
    await transcript(desktop, [['XSEND ' + user + '@example.org', /^\+OK Send the message/]]);
    desktop.send('Subject: 6\r\n\r\nmessage 6\r\n.');
    await transcript(desktop, [[null, /^\+OK Message \S+ delivered to 1 maildrop$/]]);
    const sixth = store.listMessages(user).at(-1)!;
    expect(await watch.line()).toBe(`* NEW 6 ${sixth.uidl} ${sixth.size}`);
    // ... and through another process, which sends no notice here: DONE's index read finds it.
    const [seventh] = await other.deliver({ recipients: [user], body: small(7) });
    // A new session of the tablet deletes the sixth message before the watcher reads it.
    const tablet2 = await login(user, /^\+OK Logged in, 4 messages/);
    await transcript(tablet2, [['DELE 3', /^\+OK/], ['QUIT', '+OK Hearth POP3 signing off (1 message deleted)']]);
    const left = size(bodies[3]!) + size(bodies[4]!) + seventh!.size;
    watch.send('DONE');
    expect(await watch.line()).toBe(`* NEW 7 ${seventh!.uidl} ${seventh!.size}`);
    const watchTotal = bodies.reduce((sum, b) => sum + size(b), 0) + sixth.size + seventh!.size;
    expect(await watch.line()).toBe(`+OK Done waiting, 7 messages (${watchTotal} octets)`);
    await transcript(watch, [
      ['RETR 6', '-ERR Message 6 was deleted by another session'],
      ['RETR 7', [`+OK ${size(small(1))} octets`, 'Subject: 7', '', 'message 7']],
      ['UIDL 4', `+OK 4 ${uidls[3]}`],
      ['QUIT', '+OK Hearth POP3 signing off (0 messages deleted)'],
    ]);
    await transcript(tablet, [['QUIT', '+OK Hearth POP3 signing off (0 messages deleted)']]);
    await transcript(desktop, [['STAT', `+OK 5 ${bodies.reduce((sum, b) => sum + size(b), 0)}`], ['QUIT', /^\+OK/]]);
    const last = await login(user, new RegExp(`^\\+OK Logged in, 3 messages \\(${left} octets\\)`));
    await transcript(last, [['UIDL', ['+OK Unique-ID listing follows', `1 ${uidls[3]}`, `2 ${uidls[4]}`, `3 ${seventh!.uidl}`]]]);
  });
});

/** Python's poplib: two clients of one user at once, the second reading what the first deleted. */
const POPLIB_TWO = `
import json, os, poplib
port = int(os.environ['POP_PORT']); user = os.environ['POP_USER']
def login():
    p = poplib.POP3('127.0.0.1', port, timeout=10)
    p.user(user); p.pass_('pw')
    return p
phone, laptop = login(), login()
out = {'phone': phone.stat(), 'laptop': laptop.stat(), 'uidl_before': laptop.uidl()[1]}
phone.dele(1)
out['phone_quit'] = phone.quit()
try:
    laptop.retr(1)
    out['retr1'] = 'read'
except poplib.error_proto as e:
    out['retr1'] = e.args[0]
out['retr2'] = laptop.retr(2)[1]
out['uidl_after'] = laptop.uidl()[1]
out['laptop_quit'] = laptop.quit()
print(json.dumps(out, default=lambda b: b.decode('latin1')))
`;

function poplib(code: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('python3', ['-c', code], { timeout: 20_000, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : 1, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

describe('real clients', () => {
  it('poplib: two clients of one user at once; the second gets error_proto for what the first deleted', async () => {
    harness = await startPop3({ backing: storeBacking(store, accounts) });
    const bodies = [small(1), small(2)];
    const { user, uidls } = await userWith(bodies);
    const result = await poplib(POPLIB_TWO, { POP_PORT: String(harness.port), POP_USER: user });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const total = bodies.reduce((sum, b) => sum + size(b), 0);
    const listing = [`1 ${uidls[0]}`, `2 ${uidls[1]}`];
    expect(JSON.parse(result.stdout)).toEqual({
      phone: [2, total],
      laptop: [2, total],
      uidl_before: listing,
      phone_quit: '+OK Hearth POP3 signing off (1 message deleted)',
      retr1: '-ERR Message 1 was deleted by another session',
      retr2: ['Subject: 2', '', 'message 2'],
      uidl_after: listing,
      laptop_quit: '+OK Hearth POP3 signing off (0 messages deleted)',
    });
    expect(store.listMessages(user).map((m) => m.uidl)).toEqual([uidls[1]]);
  });
});

describe('exclusiveLock', () => {
  it('gives [IN-USE] to a second session, a waiting one included, until the first QUITs', async () => {
    harness = await startPop3({ backing: storeBacking(store, accounts), settings: { exclusiveLock: true } });
    const { user } = await userWith([small(1)]);
    const watch = await login(user, /^\+OK Logged in, 1 message /);
    await transcript(watch, [['XIDLE', /^\+OK Waiting/]]);
    const phone = await login(user, /^-ERR \[IN-USE\] Maildrop is locked by another session$/);
    await transcript(watch, [['DONE', /^\+OK Done waiting/], ['DELE 1', /^\+OK/], ['QUIT', /^\+OK .*\(1 message deleted\)/]]);
    await transcript(phone, [['USER ' + user, /^\+OK/], ['PASS pw', '+OK Logged in, 0 messages (0 octets)']]);
  });
});
