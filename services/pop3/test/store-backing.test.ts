/**
 * The store backing's read path over the real @hearth/mail-store: listings reused between
 * sessions stay exact while other store instances (other processes) deliver and delete, and
 * RETR/TOP of bodies kept in the index and in files are byte-exact, dot-stuffed and terminated; a
 * QUIT whose maildrop was deleted meanwhile is answered [SYS/PERM].
 */
import { mkdtempSync } from 'node:fs';
import { readdir, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSuiteAccounts, type Accounts } from '@hearth/accounts';
import { openMailStore, type MailStore } from '@hearth/mail-store';
import { storeBacking } from '@hearth/pop3';
import { LineClient, removeDir, startPop3, transcript, type Harness } from './helpers.js';

let dir: string;
let store: MailStore;
/** Another store instance on the same directory: what SMTP or a second POP3 process would be. */
let other: MailStore;
let harness: Harness;
let accounts: Accounts;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pop3-store-backing-'));
  store = await openMailStore({ dir: join(dir, 'mail') });
  other = await openMailStore({ dir: join(dir, 'mail') });
  accounts = await openSuiteAccounts(dir, { passwordParams: { ln: 4, r: 8, p: 1 } });
  for (const name of ['alice', 'bob', 'carol', 'dave']) {
    store.addMaildrop(name);
    await accounts.add(name, 'pw');
  }
  harness = await startPop3({ backing: storeBacking(store, accounts, { listingCacheMessages: 1000 }) });
});

afterAll(async () => {
  await harness?.close();
  await other?.close();
  await store?.close();
  await accounts?.close();
  removeDir(dir);
});

async function login(user: string, port = harness.port): Promise<LineClient> {
  const client = await LineClient.connect(port);
  await transcript(client, [
    [null, /^\+OK/],
    [`USER ${user}`, /^\+OK/],
    ['PASS pw', /^\+OK Logged in/],
  ]);
  return client;
}

/** UIDL of a session that logs in, lists, and quits. */
async function uidls(user: string): Promise<string[]> {
  const client = await login(user);
  try {
    client.send('UIDL');
    expect(await client.line()).toMatch(/^\+OK/);
    const lines = await client.body();
    client.send('LIST');
    expect(await client.line()).toMatch(/^\+OK/);
    expect(await client.body()).toHaveLength(lines.length);
    await transcript(client, [['QUIT', /^\+OK/]]);
    return lines.map((line) => line.split(' ')[1]!);
  } finally {
    client.destroy();
  }
}

describe('listings between sessions', () => {
  it('follow deliveries and deletions by this store, by another store, and by DELE', async () => {
    const [m1] = await store.deliver({ recipients: ['alice'], body: 'Subject: 1\r\n\r\none\r\n' });
    expect(await uidls('alice')).toEqual([m1?.uidl]);
    expect(await uidls('alice')).toEqual([m1?.uidl]);

    const [m2] = await other.deliver({ recipients: ['alice'], body: 'Subject: 2\r\n\r\ntwo\r\n' });
    expect(await uidls('alice')).toEqual([m1?.uidl, m2?.uidl]);

    // One message out and one in: the same count, a different set.
    await other.deleteMessages('alice', [m1?.messageId ?? 0]);
    const [m3] = await other.deliver({ recipients: ['alice'], body: 'Subject: 3\r\n\r\nthree\r\n' });
    expect(await uidls('alice')).toEqual([m2?.uidl, m3?.uidl]);

    const client = await login('alice');
    await transcript(client, [
      ['DELE 1', /^\+OK/],
      ['QUIT', '+OK Hearth POP3 signing off (1 message deleted)'],
    ]);
    client.destroy();
    expect(await uidls('alice')).toEqual([m3?.uidl]);
  });

  it('LIST and UIDL leave out messages marked deleted, and show them again after RSET', async () => {
    const d = await store.deliver({ recipients: ['dave'], body: 'Subject: d1\r\n\r\none\r\n' });
    d.push(...(await store.deliver({ recipients: ['dave'], body: 'Subject: d2\r\n\r\ntwo two\r\n' })));
    d.push(...(await store.deliver({ recipients: ['dave'], body: 'Subject: d3\r\n\r\nthree three three\r\n' })));
    const [d1, d2, d3] = d;
    const all = {
      list: ['+OK 3 messages (' + (d1!.size + d2!.size + d3!.size) + ' octets)', `1 ${d1?.size}`, `2 ${d2?.size}`, `3 ${d3?.size}`],
      uidl: ['+OK Unique-ID listing follows', `1 ${d1?.uidl}`, `2 ${d2?.uidl}`, `3 ${d3?.uidl}`],
    };
    const client = await login('dave');
    try {
      await transcript(client, [
        ['LIST', all.list],
        ['UIDL', all.uidl],
        ['DELE 2', /^\+OK/],
        ['LIST', [`+OK 2 messages (${d1!.size + d3!.size} octets)`, `1 ${d1?.size}`, `3 ${d3?.size}`]],
        ['UIDL', ['+OK Unique-ID listing follows', `1 ${d1?.uidl}`, `3 ${d3?.uidl}`]],
        ['STAT', `+OK 2 ${d1!.size + d3!.size}`],
        ['RSET', /^\+OK Maildrop has 3 messages/],
        ['LIST', all.list],
        ['UIDL', all.uidl],
        ['QUIT', /^\+OK/],
      ]);
    } finally {
      client.destroy();
    }
  });

  it('keep the message numbers of the session while mail arrives during it', async () => {
    const [b1] = await store.deliver({ recipients: ['bob'], body: 'Subject: b1\r\n\r\nb1\r\n' });
    const client = await login('bob');
    try {
      await other.deliver({ recipients: ['bob'], body: 'Subject: b2\r\n\r\nb2\r\n' });
      await transcript(client, [
        ['STAT', `+OK 1 ${b1?.size}`],
        ['UIDL', ['+OK Unique-ID listing follows', `1 ${b1?.uidl}`]],
        ['QUIT', /^\+OK/],
      ]);
    } finally {
      client.destroy();
    }
    expect(await uidls('bob')).toHaveLength(2);
  });
});

/** Paths of the body files in the store. */
async function bodyFiles(): Promise<string[]> {
  const root = join(dir, 'mail', 'bodies');
  const files: string[] = [];
  for (const day of await readdir(root)) for (const name of await readdir(join(root, day))) files.push(join(root, day, name));
  return files;
}

describe('RETR and TOP from the store', () => {
  // Lines that start with a dot, spread so some fall on 64 KiB read boundaries.
  const line = (i: number): string => (i % 997 === 0 ? `.dot ${i}` : `line ${i} ${'x'.repeat(60)}`);
  const large = `Subject: large\r\n\r\n${Array.from({ length: 6000 }, (_, i) => `${line(i)}\r\n`).join('')}`;
  const small = 'Subject: small\r\n\r\n.hidden\r\nshown\r\n';

  it('sends bodies from the index and from files byte for byte, dot-stuffed', async () => {
    await store.deliver({ recipients: ['carol'], body: small });
    await store.deliver({ recipients: ['carol'], body: large });
    const client = await login('carol');
    try {
      client.send('RETR 1');
      expect(await client.line()).toBe(`+OK ${small.length} octets`);
      expect(await client.body()).toEqual(small.split('\r\n').slice(0, -1));
      client.send('RETR 2');
      expect(await client.line()).toBe(`+OK ${large.length} octets`);
      expect(await client.body()).toEqual(large.split('\r\n').slice(0, -1));
      // Pipelined: answered in order, each response whole.
      client.send('TOP 2 3\r\nRETR 1\r\nTOP 1 0');
      await transcript(client, [
        [null, ['+OK Top of message follows', 'Subject: large', '', line(0), line(1), line(2)]],
        [null, ['+OK 34 octets', 'Subject: small', '', '.hidden', 'shown']],
        [null, ['+OK Top of message follows', 'Subject: small', '']],
        ['QUIT', /^\+OK/],
      ]);
    } finally {
      client.destroy();
    }
  });

  it('answers QUIT with [SYS/PERM] when the maildrop was deleted during the session (no retry can remove them)', async () => {
    store.addMaildrop('erin');
    await accounts.add('erin', 'pw');
    await store.deliver({ recipients: ['erin'], body: 'Subject: one\r\n\r\nbody\r\n' });
    const client = await login('erin');
    try {
      await transcript(client, [['DELE 1', /^\+OK/]]);
      // `hearth user del erin --purge` from another process.
      await other.deleteMaildrop('erin', { purge: true });
      await transcript(client, [['QUIT', '-ERR [SYS/PERM] Some deleted messages were not removed']]);
    } finally {
      client.destroy();
    }
  });

  it('ends a session whose password was set or whose account was deleted since its login, even made again', async () => {
    store.addMaildrop('frank');
    await accounts.add('frank', 'pw');
    // `hearth user passwd frank` from another process: the next command ends the session.
    const cli = await openSuiteAccounts(dir, { passwordParams: { ln: 4, r: 8, p: 1 } });
    try {
      const changed = await login('frank');
      await transcript(changed, [['STAT', '+OK 0 0']]);
      await cli.setPassword('frank', 'pw');
      await transcript(changed, [['STAT', '-ERR [AUTH] The password was changed, or the account disabled or removed, since this login; log in again']]);
      await changed.closed();

      // Waiting in XIDLE, deleted and made again under the same name, with mail for the new one.
      const waiting = await login('frank');
      await transcript(waiting, [['XIDLE', /^\+OK/]]);
      await other.deleteMaildrop('frank', { purge: true });
      cli.remove('frank');
      other.addMaildrop('frank');
      await cli.add('frank', 'pw');
      await other.deliver({ recipients: ['frank'], body: 'Subject: for the new frank\r\n\r\nbody\r\n' });
      await transcript(waiting, [['DONE', /^-ERR \[AUTH\] The password was changed, or the account disabled or removed/]]);
      await waiting.closed();

      // A login of now is the new account's, and goes on.
      const fresh = await login('frank');
      await transcript(fresh, [['STAT', /^\+OK 1 /], ['QUIT', /^\+OK/]]);
      fresh.destroy();
    } finally {
      await cli.close();
    }
  });

  it('ends the session of an account disabled since its login, refuses it as a wrong password, and lets it in once enabled', async () => {
    store.addMaildrop('gina');
    await accounts.add('gina', 'pw');
    await store.deliver({ recipients: ['gina'], body: 'Subject: kept\r\n\r\nbody\r\n' });
    // `hearth user disable gina` from another process: the next command ends the session.
    const cli = await openSuiteAccounts(dir, { passwordParams: { ln: 4, r: 8, p: 1 } });
    try {
      const open = await login('gina');
      await transcript(open, [['STAT', /^\+OK 1 /]]);
      cli.disable('gina');
      await transcript(open, [['STAT', '-ERR [AUTH] The password was changed, or the account disabled or removed, since this login; log in again']]);
      await open.closed();

      // The right password and a wrong one get the same answer; so do USER/PASS and AUTH PLAIN.
      const refused = await LineClient.connect(harness.port);
      await transcript(refused, [
        [null, /^\+OK/],
        ['USER gina', /^\+OK/],
        ['PASS pw', '-ERR [AUTH] Authentication failed'],
        ['USER gina', /^\+OK/],
        ['PASS wrong', '-ERR [AUTH] Authentication failed'],
        [`AUTH PLAIN ${Buffer.from('\0gina\0pw').toString('base64')}`, '-ERR [AUTH] Authentication failed'],
      ]);
      // With a reason, the right password is told it (as Dovecot's nologin reason); a wrong one is not.
      cli.disable('gina', 'lost phone, call the office');
      await transcript(refused, [
        ['USER gina', /^\+OK/],
        ['PASS wrong', '-ERR [AUTH] Authentication failed'],
        ['USER gina', /^\+OK/],
        ['PASS pw', '-ERR [AUTH] This account is disabled: lost phone, call the office'],
        ['QUIT', /^\+OK/],
      ]);
      refused.destroy();

      cli.enable('gina');
      const again = await login('gina');
      await transcript(again, [['STAT', /^\+OK 1 /], ['QUIT', /^\+OK/]]);
      again.destroy();
    } finally {
      await cli.close();
    }
  });

  it('ends a waiting XIDLE session within credentialCheckInterval when the password is set, with no mail and no line', async () => {
    store.addMaildrop('hank');
    await accounts.add('hank', 'pw');
    const quick = await startPop3({ backing: storeBacking(store, accounts), settings: { credentialCheckInterval: 100 } });
    const cli = await openSuiteAccounts(dir, { passwordParams: { ln: 4, r: 8, p: 1 } });
    try {
      // A wait whose credentials stand, begun first: it has seen more checks than hank's when that ends.
      const steady = await login('carol', quick.port);
      await transcript(steady, [['XIDLE', /^\+OK/]]);
      const waiting = await login('hank', quick.port);
      await transcript(waiting, [['XIDLE', /^\+OK/]]);
      // `hearth user passwd hank` from another process; the client sends nothing.
      await cli.setPassword('hank', 'new');
      expect(await waiting.line()).toBe('-ERR [AUTH] The password was changed, or the account disabled or removed, since this login; log in again');
      await waiting.closed();
      await transcript(steady, [['DONE', /^\+OK Done waiting, /], ['QUIT', /^\+OK/]]);
      steady.destroy();
    } finally {
      await cli.close();
      await quick.close();
    }
  });

  it('pushes no new mail to a waiting XIDLE session of an account disabled since its login, and ends it', async () => {
    store.addMaildrop('ivan');
    await accounts.add('ivan', 'pw');
    const cli = await openSuiteAccounts(dir, { passwordParams: { ln: 4, r: 8, p: 1 } });
    try {
      const phone = await login('ivan');
      await transcript(phone, [['XIDLE', /^\+OK/]]);
      // `hearth user disable ivan` (the phone was lost), then mail for ivan, stored by this process.
      cli.disable('ivan', 'lost phone');
      const sender = await login('alice');
      await transcript(sender, [['XSEND ivan', /^\+OK/]]);
      sender.send('Subject: where are you\r\n\r\ncall me\r\n.');
      expect(await sender.line()).toMatch(/^\+OK Message \S+ delivered to 1 maildrop$/);
      expect(await phone.line()).toBe('-ERR [AUTH] The password was changed, or the account disabled or removed, since this login; log in again');
      await phone.closed();
      await transcript(sender, [['QUIT', /^\+OK/]]);
      sender.destroy();
    } finally {
      await cli.close();
    }
  });

  it('answers -ERR and goes on when a body cannot be opened', async () => {
    const before = new Set(await bodyFiles());
    await store.deliver({ recipients: ['carol'], body: `Subject: gone\r\n\r\n${'z'.repeat(100_000)}\r\n` });
    const added = (await bodyFiles()).filter((file) => !before.has(file));
    expect(added).toHaveLength(1);
    await unlink(added[0]!);
    const client = await login('carol');
    try {
      await transcript(client, [
        ['RETR 3', /^-ERR \[SYS\/PERM\]/],
        ['TOP 1 0', ['+OK Top of message follows', 'Subject: small', '']],
        ['QUIT', /^\+OK/],
      ]);
    } finally {
      client.destroy();
    }
  });
});
