/**
 * Quoted local parts (RFC 5321 4.1.2: `"john doe"@example.com`, with `\` quoted-pairs) in MAIL
 * FROM and RCPT TO, on MX and submission, with smtplib, swaks and a raw socket: the sender kept as
 * given, a recipient found by its unquoted form (as Postfix compares it), bad quoting a 501.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { python, RawClient, runClient, startTestSmtp, type TestSmtp } from './harness.js';

let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startTestSmtp({ settings: { maxMessageSize: 100_000 } });
});
afterAll(async () => {
  await smtp?.close();
});

/** A raw session on `port` past its greeting and EHLO. */
async function session(port: number): Promise<RawClient> {
  const client = await RawClient.connect(port);
  expect(await client.reply()).toMatch(/^220 /);
  expect(await client.command('EHLO c.example')).toMatch(/^250/);
  return client;
}

describe('quoted local parts on MX', () => {
  it('takes a quoted sender with a space and keeps it as given in Return-Path (smtplib)', async () => {
    const refused = await python(
      `s = smtplib.SMTP(HOST, PORT, timeout=10)
s.ehlo("client.example")
r = s.sendmail('"john doe"@example.com', ["alice@localhost"], "Subject: quoted sender\\r\\n\\r\\nhi\\r\\n")
s.quit()
out(r)`,
      { port: smtp.port('mx') },
    );
    expect(refused).toEqual({});
    const stored = await smtp.store.last('alice');
    expect(stored).toMatch(/^Return-Path: <"john doe"@example\.com>\r\nReceived: /);
    expect(stored).toContain('Subject: quoted sender\r\n');
  });

  it('takes quoted sender and recipient from swaks', async () => {
    const ran = await runClient('swaks', [
      '--server', '127.0.0.1', '--port', String(smtp.port('mx')), '--helo', 'swaks.example',
      '--from', '"john doe"@example.com', '--to', '"Bob"@example.test', '--header', 'Subject: quoted via swaks',
    ]);
    expect(ran.code, ran.stdout + ran.stderr).toBe(0);
    expect(ran.stdout + ran.stderr).toMatch(/<-\s+250 2\.0\.0 Ok: delivered as/);
    expect(await smtp.store.last('bob')).toMatch(/^Return-Path: <"john doe"@example\.com>\r\n(.|\r\n)*\tfor <"Bob"@example\.test>; (.|\r\n)*Subject: quoted via swaks/);
  });

  it('keeps a quoted-pair in the sender as given', async () => {
    const client = await session(smtp.port('mx'));
    try {
      expect(await client.command('MAIL FROM:<"a\\"b \\\\ c"@example.com>')).toMatch(/^250 2\.1\.0 /);
      expect(await client.command('RCPT TO:<bob@localhost>')).toMatch(/^250 2\.1\.5 /);
      expect(await client.command('DATA')).toMatch(/^354 /);
      expect(await client.command('Subject: quoted pair\r\n\r\nhi\r\n.')).toMatch(/^250 2\.0\.0 Ok: delivered as /);
      expect(await client.command('QUIT')).toMatch(/^221 /);
    } finally {
      client.destroy();
    }
    expect(await smtp.store.last('bob')).toMatch(/^Return-Path: <"a\\"b \\\\ c"@example\.com>\r\n(.|\r\n)*Subject: quoted pair\r\n/);
  });

  it('reads the parameters after a quoted sender (SIZE over the limit is 552)', async () => {
    const client = await session(smtp.port('mx'));
    try {
      expect(await client.command('MAIL FROM:<"john doe"@example.com> SIZE=200000')).toMatch(/^552 5\.3\.4 /);
      expect(await client.command('MAIL FROM:<"john doe"@example.com> SIZE=2000 BODY=8BITMIME')).toMatch(/^250 2\.1\.0 /);
    } finally {
      client.destroy();
    }
  });

  it('delivers "alice"@domain and "Al\\ice"@domain to alice, with the address as given in Received', async () => {
    const replies = await python(
      `s = smtplib.SMTP(HOST, PORT, timeout=10)
s.ehlo("client.example")
s.mail("sender@example.org")
r1 = s.rcpt('"alice"@localhost')
s.data("Subject: quoted rcpt\\r\\n\\r\\nhi\\r\\n")
s.mail("sender@example.org")
r2 = s.docmd('RCPT TO:<"Al\\\\ice"@Example.Test>')
s.data("Subject: quoted pair rcpt\\r\\n\\r\\nhi\\r\\n")
s.quit()
out([[r[0], r[1].decode()] for r in (r1, r2)])`,
      { port: smtp.port('mx') },
    );
    expect(replies).toEqual([
      [250, expect.stringMatching(/^2\.1\.5 /)],
      [250, expect.stringMatching(/^2\.1\.5 /)],
    ]);
    const [first, second] = (await smtp.store.bodies('alice')).slice(-2);
    expect(first).toMatch(/\tfor <"alice"@localhost>; (.|\r\n)*Subject: quoted rcpt\r\n/);
    expect(second).toMatch(/\tfor <"Al\\ice"@Example\.Test>; (.|\r\n)*Subject: quoted pair rcpt\r\n/);
    expect(smtp.store.deliveries.slice(-2)).toEqual([['alice'], ['alice']]);
  });

  it('refuses a quoted local part that names no local user as any unknown user (550 5.1.1), and another domain as relaying', async () => {
    const client = await session(smtp.port('mx'));
    try {
      expect(await client.command('MAIL FROM:<sender@example.org>')).toMatch(/^250 /);
      expect(await client.command('RCPT TO:<"a b"@localhost>')).toBe('550 5.1.1 <"a b"@localhost>: no such user here');
      expect(await client.command('RCPT TO:<"alice@localhost"@localhost>')).toBe('550 5.1.1 <"alice@localhost"@localhost>: no such user here');
      expect(await client.command('RCPT TO:<"../alice"@localhost>')).toBe('550 5.1.1 <"../alice"@localhost>: no such user here');
      expect(await client.command('RCPT TO:<""@localhost>')).toBe('550 5.1.1 <""@localhost>: no such user here');
      expect(await client.command('RCPT TO:<"alice"@elsewhere.example>')).toMatch(/^550 5\.7\.1 <"alice"@elsewhere\.example>: relay access denied/);
    } finally {
      client.destroy();
    }
  });

  it('answers bad quoting with a 501 that names it, and the session goes on', async () => {
    const client = await session(smtp.port('mx'));
    try {
      expect(await client.command('MAIL FROM:<"john doe@example.com>')).toBe(
        '501 5.1.7 Bad sender address syntax: the quoted local part has no closing quote',
      );
      expect(await client.command('MAIL FROM:<"john\tdoe"@example.com>')).toBe(
        '501 5.1.7 Bad sender address syntax: a control character in the quoted local part',
      );
      expect(await client.command('MAIL FROM:<"john"doe@example.com>')).toBe(
        '501 5.1.7 Bad sender address syntax: the quoted local part must be followed by @ and the domain',
      );
      expect(await client.command('MAIL FROM:<"john"@bad..domain>')).toMatch(/^501 5\.1\.7 /);
      expect(await client.command('MAIL FROM:<sender@example.org>')).toMatch(/^250 2\.1\.0 /);
      expect(await client.command('RCPT TO:<"alice\\>')).toBe(
        '501 5.1.3 Bad recipient address syntax: the quoted local part has no closing quote',
      );
      expect(await client.command('RCPT TO:<"al\\\x01ice"@localhost>')).toBe(
        '501 5.1.3 Bad recipient address syntax: a control character in the quoted local part',
      );
      expect(await client.command('RCPT TO:<"alice">')).toBe(
        '501 5.1.3 Bad recipient address syntax: the quoted local part must be followed by @ and the domain',
      );
      expect(await client.command('RCPT TO:<"alice"@localhost>')).toMatch(/^250 2\.1\.5 /);
      // A source route before a quoted local part is dropped, as before any other (RFC 5321 4.1.2).
      expect(await client.command('RCPT TO:<@relay.example:"bob"@localhost>')).toMatch(/^250 2\.1\.5 /);
      expect(await client.command('DATA')).toMatch(/^354 /);
      expect(await client.command('Subject: after bad quoting\r\n\r\nhi\r\n.')).toMatch(/^250 2\.0\.0 /);
    } finally {
      client.destroy();
    }
    expect(smtp.store.deliveries.at(-1)).toEqual(['alice', 'bob']);
    expect(await smtp.store.last('alice')).toContain('Subject: after bad quoting\r\n');
  });
});

describe('quoted local parts on submission', () => {
  it('submits from a quoted sender to a quoted local user (smtplib, STARTTLS and AUTH), From added as given', async () => {
    const refused = await python(
      `s = smtplib.SMTP(HOST, PORT, timeout=10)
s.starttls(context=ctx())
s.login("alice", "alice-pw")
r = s.sendmail('"alice smith"@localhost', ['"bob"@localhost'], "Subject: quoted submission\\r\\n\\r\\nhi\\r\\n")
s.quit()
out(r)`,
      { port: smtp.port('submission'), ca: smtp.certs.cert },
    );
    expect(refused).toEqual({});
    const stored = await smtp.store.last('bob');
    expect(stored).toMatch(/^Return-Path: <"alice smith"@localhost>\r\nReceived: (.|\r\n)* with ESMTPSA id \S+\r\n\tfor <"bob"@localhost>; /);
    expect(stored).toMatch(/\r\nFrom: <"alice smith"@localhost>\r\n(.|\r\n)*Subject: quoted submission\r\n/);
  });

  it('writes a quoted sender beyond ASCII (SMTPUTF8) in UTF-8 in Return-Path and From', async () => {
    const refused = await python(
      `s = smtplib.SMTP(HOST, PORT, timeout=10)
s.starttls(context=ctx())
s.login("alice", "alice-pw")
r = s.sendmail('"jöhn €"@localhost', ["bob@localhost"], b"Subject: utf8 sender\\r\\n\\r\\nhi\\r\\n", mail_options=["SMTPUTF8"])
s.quit()
out(r)`,
      { port: smtp.port('submission'), ca: smtp.certs.cert },
    );
    expect(refused).toEqual({});
    const stored = await smtp.store.last('bob');
    expect(stored).toMatch(/^Return-Path: <"jöhn €"@localhost>\r\n/);
    expect(stored).toMatch(/\r\nFrom: <"jöhn €"@localhost>\r\nSubject: utf8 sender\r\n/);
  });

  it('refuses bad quoting after AUTH with a 501 too', async () => {
    const reply = await python(
      `s = smtplib.SMTP(HOST, PORT, timeout=10)
s.starttls(context=ctx())
s.login("alice", "alice-pw")
r = s.docmd('MAIL FROM:<"alice@localhost>')
s.quit()
out([r[0], r[1].decode()])`,
      { port: smtp.port('submission'), ca: smtp.certs.cert },
    );
    expect(reply).toEqual([501, '5.1.7 Bad sender address syntax: the quoted local part has no closing quote']);
  });
});
