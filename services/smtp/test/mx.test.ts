/** The MX listener: mail for local users from anyone, driven by Python's smtplib and swaks. */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@hearth/log';
import { waitFor } from '@hearth/testkit';
import { MAIL_TOPICS, readNotices } from '@hearth/mail-delivery';
import { message, python, RawClient, runClient, startTestSmtp, type TestSmtp } from './harness.js';

let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startTestSmtp({ settings: { maxMessageSize: 100_000, maxRecipients: 3 } });
});
afterAll(async () => {
  await smtp?.close();
});

describe('mx listener', () => {
  it('announces SIZE, STARTTLS and enhanced codes but no AUTH', async () => {
    const features = await python(
      `s = smtplib.SMTP(HOST, PORT, timeout=10)
s.ehlo("client.example")
f = dict(s.esmtp_features)
s.quit()
out(f)`,
      { port: smtp.port('mx') },
    );
    expect(features).toMatchObject({ size: '100000', starttls: '', enhancedstatuscodes: '', pipelining: '' });
    expect(features).not.toHaveProperty('auth');
  });

  it('delivers one message to several local users in one delivery, with trace headers and events', async () => {
    const before = smtp.bus.published.length;
    const result = await python(
      `s = smtplib.SMTP(HOST, PORT, timeout=10)
s.ehlo("client.example")
refused = s.sendmail("sender@example.org", ["alice@localhost", "BOB@Example.Test"], ${JSON.stringify(message('multi'))})
s.quit()
out(refused)`,
      { port: smtp.port('mx') },
    );
    expect(result).toEqual({});
    expect(smtp.store.deliveries.at(-1)).toEqual(['alice', 'bob']);
    const stored = await smtp.store.last('bob');
    expect(stored).toMatch(/^Return-Path: <sender@example\.org>\r\nReceived: from client\.example \(\[127\.0\.0\.1\]\)\r\n\tby mx\.example\.test \(Hearth\) with ESMTP id [^;\s]+;\r\n\t\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r\nFrom: sender@example\.org\r\n/);
    expect(stored).toContain('Subject: multi\r\n');
    const events = smtp.bus.published.slice(before);
    // One bus message for the whole delivery: a batch with one event per recipient.
    expect(events.map((e) => e.topic)).toEqual([MAIL_TOPICS.delivered]);
    const { notices: batch, rejected } = readNotices(events[0]?.payload);
    expect(rejected).toBe(0);
    expect(batch.map((e) => e.user)).toEqual(['alice', 'bob']);
    expect(batch[1]).toMatchObject({ source: 'hearth', maildrop: 'INBOX', messageId: expect.any(Number), uid: expect.any(Number), uidl: expect.any(String), size: stored.length });
  });

  it('names the single recipient in Received', async () => {
    const ran = await runClient('swaks', [
      '--server', '127.0.0.1', '--port', String(smtp.port('mx')), '--helo', 'swaks.example',
      '--from', 'someone@example.org', '--to', 'alice@example.test', '--header', 'Subject: via swaks',
    ]);
    expect(ran.code, ran.stdout + ran.stderr).toBe(0);
    expect(ran.stdout + ran.stderr).toMatch(/<-\s+250 2\.0\.0 Ok: delivered as/);
    const stored = await smtp.store.last('alice');
    expect(stored).toMatch(/^Return-Path: <someone@example\.org>\r\nReceived: from swaks\.example \(\[127\.0\.0\.1\]\)\r\n\tby mx\.example\.test \(Hearth\) with ESMTP id \S+\r\n\tfor <alice@example\.test>; /);
    expect(stored).toContain('Subject: via swaks');
  });

  it('takes mail over STARTTLS too (Received says ESMTPS)', async () => {
    const result = await python(
      `s = smtplib.SMTP(HOST, PORT, timeout=10)
s.starttls(context=ctx())
out(s.sendmail("sender@example.org", ["bob@localhost"], "Subject: tls mx\\r\\n\\r\\nhi\\r\\n"))`,
      { port: smtp.port('mx'), ca: smtp.certs.cert },
    );
    expect(result).toEqual({});
    expect(await smtp.store.last('bob')).toMatch(/with ESMTPS id .*\r\n(.|\r\n)*Subject: tls mx/);
  });

  it('refuses unknown users (550 5.1.1) and other domains (550 5.7.1, no relay)', async () => {
    const codes = await python(
      `s = smtplib.SMTP(HOST, PORT, timeout=10)
s.ehlo("client.example")
s.mail("sender@example.org")
r1 = s.rcpt("nobody@localhost")
r2 = s.rcpt("alice@elsewhere.example")
r3 = s.rcpt("alice@localhost")
s.quit()
out([[r[0], r[1].decode()] for r in (r1, r2, r3)])`,
      { port: smtp.port('mx') },
    );
    expect(codes).toEqual([
      [550, expect.stringMatching(/^5\.1\.1 <nobody@localhost>: no such user here$/)],
      [550, expect.stringMatching(/^5\.7\.1 <alice@elsewhere\.example>: relay access denied/)],
      [250, expect.stringMatching(/^2\.1\.5 /)],
    ]);
  });

  it('refuses a relay attempt with swaks', async () => {
    const ran = await runClient('swaks', [
      '--server', '127.0.0.1', '--port', String(smtp.port('mx')),
      '--from', 'spammer@example.org', '--to', 'victim@gmail.example',
    ]);
    expect(ran.code).not.toBe(0);
    expect(ran.stdout + ran.stderr).toMatch(/<\*\*\s+550 5\.7\.1 <victim@gmail\.example>: relay access denied/);
  });

  it('has no AUTH on MX', async () => {
    const client = await RawClient.connect(smtp.port('mx'));
    try {
      expect(await client.reply()).toMatch(/^220 mx\.example\.test ESMTP Hearth$/);
      await client.command('EHLO c.example');
      expect(await client.command('AUTH PLAIN AGFsaWNlAGFsaWNlLXB3')).toMatch(/^500 5\.5\.2 /);
    } finally {
      client.destroy();
    }
  });

  it('refuses too many recipients with 452 4.5.3', async () => {
    const codes = await python(
      `s = smtplib.SMTP(HOST, PORT, timeout=10)
s.ehlo("client.example")
s.mail("sender@example.org")
r = [s.rcpt(a)[0] for a in ("alice@localhost", "bob@localhost", "alice@example.test", "bob@example.test")]
last = s.rcpt("bob@example.test")[1].decode()
s.quit()
out([r, last])`,
      { port: smtp.port('mx') },
    );
    expect(codes).toEqual([[250, 250, 250, 452], expect.stringMatching(/^4\.5\.3 /)]);
  });

  it('refuses an oversized message with 552 5.3.4, announced or not, stores nothing and counts it refused', async () => {
    const count = smtp.store.deliveries.length;
    const c = smtp.running.counters;
    const [received, refused] = [c.get('messagesReceived'), c.get('messagesRefused')];
    const big = 'x'.repeat(998) + '\r\n';
    const result = await python(
      `body = "Subject: big\\r\\n\\r\\n" + ${JSON.stringify(big)} * 200
s = smtplib.SMTP(HOST, PORT, timeout=10)
s.ehlo("client.example")
try:
    s.sendmail("sender@example.org", ["alice@localhost"], body)  # smtplib sends SIZE=n itself
    a = None
except smtplib.SMTPSenderRefused as e:
    a = [e.smtp_code, e.smtp_error.decode()]
s.esmtp_features.pop("size")   # now lie: no SIZE parameter, the stream itself is too big
try:
    s.sendmail("sender@example.org", ["alice@localhost"], body)
    b = None
except smtplib.SMTPDataError as e:
    b = [e.smtp_code, e.smtp_error.decode()]
ok = s.sendmail("sender@example.org", ["alice@localhost"], "Subject: small\\r\\n\\r\\nfits\\r\\n")
s.quit()
out([a, b, ok])`,
      { port: smtp.port('mx') },
    );
    expect(result).toEqual([
      [552, expect.stringMatching(/^5\.3\.4 /)],
      [552, expect.stringMatching(/^5\.3\.4 /)],
      {},
    ]);
    expect(smtp.store.deliveries.length).toBe(count + 1);
    // The streamed one was refused after DATA; the one announced too big never reached DATA.
    expect([c.get('messagesReceived') - received, c.get('messagesRefused') - refused]).toEqual([1, 1]);
  });

  it('answers 451 when the store fails, and stores nothing', async () => {
    const count = smtp.store.deliveries.length;
    // One delivery through Python's smtplib; the DATA reply it got when the store failed.
    const refusedWith = (): Promise<unknown> =>
      python(
        `s = smtplib.SMTP(HOST, PORT, timeout=10)
s.ehlo("client.example")
try:
    s.sendmail("sender@example.org", ["alice@localhost"], "Subject: x\\r\\n\\r\\nbody\\r\\n")
    r = None
except smtplib.SMTPDataError as e:
    r = [e.smtp_code, e.smtp_error.decode()]
s.quit()
out(r)`,
        { port: smtp.port('mx') },
      );
    smtp.store.failWith = Object.assign(new Error('disk I/O error'), { code: 'STORAGE_ERROR' });
    try {
      expect(await refusedWith()).toEqual([451, '4.3.0 Local error storing the message, try again later']);
      smtp.store.failWith = Object.assign(new Error('full'), { code: 'STORAGE_FULL' });
      const full = await refusedWith();
      expect(full).toEqual([452, expect.stringMatching(/^4\.3\.1 /)]);
    } finally {
      smtp.store.failWith = undefined;
    }
    expect(smtp.store.deliveries.length).toBe(count);
  });

  it('keeps ids unique under concurrent deliveries to one user', async () => {
    const before = smtp.store.store.listMessages('alice').length;
    const events = smtp.bus.published.length;
    const result = await python(
      `import threading
errors = []
def client(n):
    try:
        s = smtplib.SMTP(HOST, PORT, timeout=20)
        for i in range(3):
            s.sendmail("sender@example.org", ["alice@localhost"], "Subject: c%d.%d\\r\\n\\r\\nbody\\r\\n" % (n, i))
        s.quit()
    except Exception as e:
        errors.append(repr(e))
threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
for t in threads: t.start()
for t in threads: t.join()
out(errors)`,
      { port: smtp.port('mx') },
    );
    expect(result).toEqual([]);
    const added = smtp.store.store.listMessages('alice').slice(before);
    expect(added).toHaveLength(48);
    expect(new Set(added.map((m) => m.uid)).size).toBe(48);
    expect(new Set(added.map((m) => m.uidl)).size).toBe(48);
    const ids = smtp.bus.published.slice(events).map((e) => (e.payload as { messageId: number }).messageId);
    expect(new Set(ids)).toEqual(new Set(added.map((m) => m.messageId)));
    const subjects = await smtp.store.bodies('alice');
    expect(new Set(subjects.slice(before).map((b) => /Subject: (c\d+\.\d)/.exec(b)?.[1])).size).toBe(48);
  });

  it('greets at once: a client talking first is answered, not refused as an early talker', async () => {
    const client = await RawClient.connect(smtp.port('mx'));
    try {
      client.write('EHLO early.example\r\n');
      expect(await client.reply()).toMatch(/^220 /);
      expect(await client.reply()).toMatch(/^250-mx\.example\.test/);
    } finally {
      client.destroy();
    }
  });
});

describe('the mail log', () => {
  it('names the envelope sender and recipients of each message delivered and each recipient refused, as Postfix logs from= and to=, and ends each session with what it did', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const logged = await startTestSmtp({ log: createLogger({ svc: 'smtp', level: 'info', destination: sink, pretty: false }) });
    try {
      const refused = await python(
        `s = smtplib.SMTP(HOST, PORT, timeout=10)
s.ehlo("client.example")
refused = s.sendmail("carol@example.org", ["alice@localhost", "nobody@localhost", "BOB@Example.Test"], ${JSON.stringify(message('logged'))})
s.sendmail("", ["alice@localhost"], ${JSON.stringify(message('bounce'))})
s.quit()
out(list(refused))`,
        { port: logged.port('mx') },
      );
      expect(refused).toEqual(['nobody@localhost']);
      await waitFor(() => lines.filter((l) => l['msg'] === 'message delivered').length === 2);
      expect(lines.find((l) => l['msg'] === 'recipient refused')).toMatchObject({ from: 'carol@example.org', rcpt: 'nobody@localhost', reply: 550 });
      const delivered = lines.filter((l) => l['msg'] === 'message delivered');
      expect(delivered[0]).toMatchObject({ from: 'carol@example.org', to: ['alice@localhost', 'BOB@Example.Test'], recipients: 2 });
      expect(delivered[1]).toMatchObject({ from: '', to: ['alice@localhost'], recipients: 1 });
      // The session ends with one line of what it did, as Postfix's "disconnect from".
      const end = await waitFor(() => lines.find((l) => l['msg'] === 'disconnected'));
      expect(end).toMatchObject({ level: 30, cid: delivered[0]!['cid'], remote: '127.0.0.1', messages: 2, messagesRefused: 0, recipientsRefused: 1, authFailures: 0 });
    } finally {
      await logged.close();
    }
  });
});
