/** Submission (STARTTLS then AUTH) and SMTPS (implicit TLS), with smtplib, swaks and curl. */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCerts, message, python, RawClient, runClient, startTestSmtp, type TestSmtp } from './harness.js';

let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startTestSmtp();
});
afterAll(async () => {
  await smtp?.close();
});

describe('submission listener', () => {
  it('refuses AUTH before STARTTLS and MAIL before AUTH', async () => {
    const client = await RawClient.connect(smtp.port('submission'));
    try {
      await client.reply();
      expect(await client.command('EHLO c.example')).toContain('250-STARTTLS');
      expect(await client.command('AUTH PLAIN AGFsaWNlAGFsaWNlLXB3')).toMatch(/^538 5\.7\.0 .*STARTTLS/);
      expect(await client.command('MAIL FROM:<alice@localhost>')).toMatch(/^530 5\.7\.0 /);
    } finally {
      client.destroy();
    }
  });

  it('refuses AUTH over plaintext from curl when TLS is not asked for', async () => {
    const ran = await runClient('curl', [
      '-sS', `smtp://127.0.0.1:${smtp.port('submission')}`, '-u', 'alice:alice-pw',
      '--mail-from', 'alice@localhost', '--mail-rcpt', 'bob@localhost', '-T', '-',
    ], message('plain'));
    expect(ran.code).not.toBe(0);
    expect((await smtp.store.bodies('bob')).some((b) => b.includes('Subject: plain'))).toBe(false);
  });

  it('submits after STARTTLS and AUTH PLAIN with smtplib (ESMTPSA), to several users', async () => {
    const result = await python(
      `s = smtplib.SMTP(HOST, PORT, timeout=10)
s.ehlo("laptop.example")
s.starttls(context=ctx())
s.ehlo("laptop.example")
auth = s.esmtp_features.get("auth")
s.login("alice", "alice-pw")
refused = s.sendmail("alice@localhost", ["bob@localhost", "alice@example.test"], ${JSON.stringify(message('submitted'))})
s.quit()
out([auth, refused])`,
      { port: smtp.port('submission'), ca: smtp.certs.cert },
    );
    expect(result).toEqual([expect.stringMatching(/PLAIN/), {}]);
    const stored = await smtp.store.last('bob');
    expect(stored).toMatch(/^Return-Path: <alice@localhost>\r\nReceived: from laptop\.example \(\[127\.0\.0\.1\]\)\r\n\tby mx\.example\.test \(Hearth\) with ESMTPSA id /);
    expect((await smtp.store.last('alice'))).toBe(stored);
    // A user's submission gets the Date and Message-ID it lacks (its From is its own), parsed back
    // by Python's email package; the message itself follows as it was sent.
    const [received, date, messageId, from, rest] = (await python(
      `import email, email.utils
m = email.message_from_string(${JSON.stringify(stored)})
out([m["Received"].split(";")[-1].strip() != "", str(email.utils.parsedate_to_datetime(m["Date"]).tzinfo), m["Message-ID"], m.get_all("From"), m["Subject"]])`,
      { port: 0 },
    )) as [boolean, string, string, string[], string];
    expect([received, date, from, rest]).toEqual([true, 'UTC', ['sender@example.org'], 'submitted']);
    expect(messageId).toMatch(/^<[0-9a-z]+\.[0-9a-f]{16}@mx\.example\.test>$/);
    expect(stored).toContain(`\r\n${message('submitted')}`);
  });

  it('adds Date, Message-ID and From to a submission that lacks them, and keeps those it has', async () => {
    const bare = 'Subject: from a script\r\n\r\nno headers but this\r\n';
    const complete = 'Date: Fri, 4 Dec 2026 10:00:00 +0100\r\nMessage-ID: <kept@laptop.example>\r\nFrom: Alice <alice@localhost>\r\nSubject: complete\r\n\r\nbody\r\n';
    const result = await python(
      `s = smtplib.SMTP(HOST, PORT, timeout=10)
s.starttls(context=ctx())
s.login("alice", "alice-pw")
s.sendmail("alice@localhost", ["bob@localhost"], ${JSON.stringify(bare)})
s.sendmail("alice@localhost", ["bob@localhost"], ${JSON.stringify(complete)})
s.quit()
out(True)`,
      { port: smtp.port('submission'), ca: smtp.certs.cert },
    );
    expect(result).toBe(true);
    const [first, second] = (await smtp.store.bodies('bob')).slice(-2) as [string, string];
    expect(first).toMatch(/\r\n\tby mx\.example\.test \(Hearth\) with ESMTPSA id [^\r]+\r\n\tfor <bob@localhost>; [^\r]+\r\nDate: \w{3}, \d{1,2} \w{3} \d{4} [\d:]{8} \+0000\r\nMessage-ID: <[^>]+@mx\.example\.test>\r\nFrom: <alice@localhost>\r\nSubject: from a script\r\n\r\nno headers but this\r\n$/);
    // Only the trace headers in front of it: its own fields are not added again.
    expect(second).toMatch(/^Return-Path: <alice@localhost>\r\nReceived: from \S+ \(\[127\.0\.0\.1\]\)\r\n\tby [^\r]+\r\n\tfor <bob@localhost>; [^\r]+\r\nDate: Fri, 4 Dec 2026/);
    expect(second.endsWith(complete)).toBe(true);
  });

  it('refuses a wrong password (535 5.7.8) and relaying for an authenticated user', async () => {
    const result = await python(
      `s = smtplib.SMTP(HOST, PORT, timeout=10)
s.starttls(context=ctx())
try:
    s.login("alice", "wrong")
    bad = None
except smtplib.SMTPAuthenticationError as e:
    bad = [e.smtp_code, e.smtp_error.decode()]
s.login("alice@localhost", "alice-pw")
s.mail("alice@localhost")
r = s.rcpt("friend@elsewhere.example")
s.quit()
out([bad, [r[0], r[1].decode()]])`,
      { port: smtp.port('submission'), ca: smtp.certs.cert },
    );
    expect(result).toEqual([
      [535, '5.7.8 Authentication credentials invalid'],
      [550, expect.stringMatching(/^5\.7\.1 <friend@elsewhere\.example>: relaying is not configured/)],
    ]);
  });

  it('submits with swaks: STARTTLS and AUTH LOGIN', async () => {
    const ran = await runClient('swaks', [
      '--server', '127.0.0.1', '--port', String(smtp.port('submission')), '--tls',
      '--auth', 'LOGIN', '--auth-user', 'bob', '--auth-password', 'bob-pw',
      '--from', 'bob@localhost', '--to', 'alice@localhost', '--header', 'Subject: swaks login',
    ]);
    expect(ran.code, ran.stdout + ran.stderr).toBe(0);
    expect((await smtp.store.last('alice'))).toContain('Subject: swaks login');
  });

  it('submits with curl --ssl-reqd (STARTTLS, AUTH PLAIN)', async () => {
    const ran = await runClient('curl', [
      '-sS', '--ssl-reqd', '--cacert', smtp.certs.cert, `smtp://localhost:${smtp.port('submission')}`,
      '--connect-to', `localhost:${smtp.port('submission')}:127.0.0.1:${smtp.port('submission')}`,
      '-u', 'bob:bob-pw', '--mail-from', 'bob@localhost', '--mail-rcpt', 'alice@localhost', '-T', '-',
    ], message('curl starttls'));
    expect(ran.code, ran.stderr).toBe(0);
    expect((await smtp.store.last('alice'))).toContain('Subject: curl starttls');
  });
});

describe('a session after its AUTH', () => {
  it("is closed at its next MAIL once the user's password was set or the account deleted, whoever did it", async () => {
    const { store, accounts } = smtp.store;
    store.addMaildrop('carol');
    await accounts.add('carol', 'carol-pw');
    const plain = `AUTH PLAIN ${Buffer.from('\0carol\0carol-pw').toString('base64')}`;
    const session = async (): Promise<RawClient> => {
      const client = await RawClient.connectTls(smtp.port('smtps'));
      expect(await client.reply()).toMatch(/^220 /);
      expect(await client.command('EHLO laptop.example')).toMatch(/^250/);
      expect(await client.command(plain)).toMatch(/^235 /);
      return client;
    };
    const changed = await session();
    try {
      expect(await changed.command('MAIL FROM:<carol@localhost>')).toMatch(/^250 /);
      expect(await changed.command('RSET')).toMatch(/^250 /);
      // `hearth user passwd carol` (the same password again still makes a new hash).
      await accounts.setPassword('carol', 'carol-pw');
      expect(await changed.command('MAIL FROM:<carol@localhost>')).toBe('421 4.7.0 The password was changed, or the account disabled or removed, since AUTH, closing connection');
      await changed.closed;
    } finally {
      changed.destroy();
    }
    const deleted = await session();
    try {
      accounts.remove('carol');
      await accounts.add('carol', 'carol-pw'); // made again under the same name
      expect(await deleted.command('MAIL FROM:<carol@localhost>')).toMatch(/^421 4\.7\.0 The password was changed/);
      await deleted.closed;
    } finally {
      deleted.destroy();
    }
    const fresh = await session();
    try {
      expect(await fresh.command('MAIL FROM:<carol@localhost>')).toMatch(/^250 /);
    } finally {
      fresh.destroy();
    }
  });
});

describe('a disabled account', () => {
  it('has its session closed at the next MAIL, is refused AUTH as a wrong password, still gets mail, and submits again once enabled', async () => {
    const { store, accounts } = smtp.store;
    store.addMaildrop('dora');
    await accounts.add('dora', 'dora-pw');
    const auth = (password: string): string => `AUTH PLAIN ${Buffer.from(`\0dora\0${password}`).toString('base64')}`;
    const connect = async (): Promise<RawClient> => {
      const client = await RawClient.connectTls(smtp.port('smtps'));
      expect(await client.reply()).toMatch(/^220 /);
      expect(await client.command('EHLO laptop.example')).toMatch(/^250/);
      return client;
    };
    const open = await connect();
    try {
      expect(await open.command(auth('dora-pw'))).toMatch(/^235 /);
      accounts.disable('dora'); // `hearth user disable dora`
      expect(await open.command('MAIL FROM:<dora@localhost>')).toBe('421 4.7.0 The password was changed, or the account disabled or removed, since AUTH, closing connection');
      await open.closed;
    } finally {
      open.destroy();
    }
    const refused = await connect();
    try {
      expect(await refused.command(auth('dora-pw'))).toBe('535 5.7.8 Authentication credentials invalid');
      expect(await refused.command(auth('wrong'))).toBe('535 5.7.8 Authentication credentials invalid');
      // With a reason, the right password is told it (as Postfix with Dovecot's nologin reason); a wrong one is not.
      accounts.disable('dora', 'left the company');
      expect(await refused.command(auth('wrong'))).toBe('535 5.7.8 Authentication credentials invalid');
      expect(await refused.command(auth('dora-pw'))).toBe('535 5.7.8 This account is disabled: left the company');
      // Reply text is US-ASCII (RFC 5321; SMTPUTF8 is asked for by MAIL, after AUTH): the accents go.
      accounts.disable('dora', 'congé jusqu’au 3 mai — voir Zoë…');
      expect(await refused.command(auth('dora-pw'))).toBe("535 5.7.8 This account is disabled: conge jusqu'au 3 mai - voir Zoe...");
    } finally {
      refused.destroy();
    }
    // Mail to a disabled user is accepted and delivered, as Postfix and Dovecot do for nologin.
    const mx = await RawClient.connect(smtp.port('mx'));
    try {
      expect(await mx.reply()).toMatch(/^220 /);
      expect(await mx.command('EHLO client.example')).toMatch(/^250/);
      expect(await mx.command('MAIL FROM:<a@example.org>')).toMatch(/^250/);
      expect(await mx.command('RCPT TO:<dora@localhost>')).toMatch(/^250/);
      expect(await mx.command('DATA')).toMatch(/^354/);
      expect(await mx.command(`${message('for a disabled user')}.`)).toMatch(/^250 2\.0\.0 Ok/);
    } finally {
      mx.destroy();
    }
    expect(await smtp.store.last('dora')).toContain('Subject: for a disabled user');
    accounts.enable('dora');
    const again = await connect();
    try {
      expect(await again.command(auth('dora-pw'))).toMatch(/^235 /);
      expect(await again.command('MAIL FROM:<dora@localhost>')).toMatch(/^250 /);
    } finally {
      again.destroy();
    }
  });
});

describe('smtps listener', () => {
  it('speaks TLS at once and requires AUTH (smtplib SMTP_SSL)', async () => {
    const result = await python(
      `s = smtplib.SMTP_SSL(HOST, PORT, timeout=10, context=ctx())
s.ehlo("laptop.example")
s.mail("bob@localhost")
unauth = s.rcpt("alice@localhost")
s.rset()
s.login("bob", "bob-pw")
refused = s.sendmail("bob@localhost", ["alice@localhost"], ${JSON.stringify(message('smtps'))})
s.quit()
out([unauth[0], refused])`,
      { port: smtp.port('smtps'), ca: smtp.certs.cert },
    );
    expect(result).toEqual([530, {}]);
    expect((await smtp.store.last('alice'))).toMatch(/with ESMTPSA id /);
  });

  it('submits with curl smtps://', async () => {
    const port = smtp.port('smtps');
    const ran = await runClient('curl', [
      '-sS', '--cacert', smtp.certs.cert, `smtps://localhost:${port}`, '--connect-to', `localhost:${port}:127.0.0.1:${port}`,
      '-u', 'alice:alice-pw', '--mail-from', 'alice@localhost', '--mail-rcpt', 'bob@localhost', '-T', '-',
    ], message('curl smtps'));
    expect(ran.code, ran.stderr).toBe(0);
    expect((await smtp.store.last('bob'))).toContain('Subject: curl smtps');
  });

  it('swaps the certificate on reload without a restart', async () => {
    const fingerprint = (port: number): Promise<string> =>
      new Promise((resolve, reject) => {
        const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
          resolve(socket.getPeerCertificate().fingerprint256);
          socket.destroy();
        });
        socket.on('error', reject);
      });
    const sha = (pem: Buffer): string =>
      createHash('sha256')
        .update(Buffer.from(pem.toString().replace(/-----[^-]+-----|\s/g, ''), 'base64'))
        .digest('hex')
        .toUpperCase()
        .match(/../g)!
        .join(':');
    const port = smtp.port('smtps');
    expect(await fingerprint(port)).toBe(sha(await readFile(smtp.certs.cert)));
    const fresh = await makeCerts(smtp.dir, 'fresh');
    // Same paths, new content: what a certificate renewal looks like.
    await writeFile(smtp.certs.cert, await readFile(fresh.cert));
    await writeFile(smtp.certs.key, await readFile(fresh.key));
    await smtp.running.reload?.(
      (await import('@hearth/smtp')).settingsSchema.parse({ hostname: 'mx.example.test' }),
      { dataDir: smtp.dir, mail: { domains: ['localhost', 'example.test'] }, tls: { cert: smtp.certs.cert, key: smtp.certs.key } },
    );
    expect(await fingerprint(port)).toBe(sha(await readFile(fresh.cert)));
    // STARTTLS on the other listeners uses the new certificate too.
    const viaStarttls = await python(
      `s = smtplib.SMTP(HOST, PORT, timeout=10)
s.starttls(context=ctx())
s.quit()
out(True)`,
      { port: smtp.port('submission'), ca: join(smtp.dir, 'fresh.pem') },
    );
    expect(viaStarttls).toBe(true);
  });
});
