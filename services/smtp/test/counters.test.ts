/** The SMTP service's counters after real sessions (smtplib): what it counted is what happened. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@hearth/testkit';
import { message, python, startTestSmtp, type TestSmtp } from './harness.js';

let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startTestSmtp();
});
afterAll(async () => {
  await smtp?.close();
});

describe('counters', () => {
  it('count connections, authentications, messages, refused recipients and bytes', async () => {
    const body = message('counted');
    await python(
      `s = smtplib.SMTP(HOST, PORT, timeout=10)
s.starttls(context=ctx())
try:
    s.login("alice", "wrong")
except smtplib.SMTPAuthenticationError:
    pass
s.login("alice", "alice-pw")
s.mail("alice@localhost")
s.rcpt("friend@elsewhere.example")
s.rset()
s.sendmail("alice@localhost", ["bob@localhost"], ${JSON.stringify(body)})
s.quit()
out(True)`,
      { port: smtp.port('submission'), ca: smtp.certs.cert },
    );
    const c = smtp.running.counters;
    await waitFor(() => c.get('connectionsOpen') === 0, { what: 'the session closed' });
    expect(c.snapshot()).toMatchObject({
      connectionsTotal: 1,
      connectionsOpen: 0,
      connectionsRefused: 0,
      authSuccesses: 1,
      authFailures: 2, // smtplib's login tries PLAIN, then LOGIN
      loginsRefused: 0,
      messagesReceived: 1,
      messagesRefused: 0,
      recipientsRefused: 1,
    });
    // The DATA bytes as sent (dot-stuffing and the final dot aside): at least the message.
    expect(c.get('bytesIn')).toBeGreaterThanOrEqual(body.length);
    expect(c.get('bytesIn')).toBeLessThan(body.length + 64);
  });

  it("count a disabled account's right password as a login refused, not as a failure", async () => {
    const { store, accounts } = smtp.store;
    store.addMaildrop('erin');
    await accounts.add('erin', 'erin-pw');
    accounts.disable('erin', 'on leave'); // `hearth user disable erin --reason 'on leave'`
    const c = smtp.running.counters;
    const before = { loginsRefused: c.get('loginsRefused'), authFailures: c.get('authFailures'), authSuccesses: c.get('authSuccesses') };
    const replies = await python(
      `s = smtplib.SMTP(HOST, PORT, timeout=10)
s.starttls(context=ctx())
said = []
for password in ["erin-pw", "wrong"]:
    try:
        s.login("erin", password)
    except smtplib.SMTPAuthenticationError as e:
        said.append([e.smtp_code, e.smtp_error.decode()])
s.quit()
out(said)`,
      { port: smtp.port('submission'), ca: smtp.certs.cert },
    );
    // smtplib tries PLAIN, then LOGIN: two AUTH commands for each login.
    expect(replies).toEqual([
      [535, '5.7.8 This account is disabled: on leave'],
      [535, '5.7.8 Authentication credentials invalid'],
    ]);
    await waitFor(() => c.get('connectionsOpen') === 0, { what: 'the session closed' });
    expect(c.get('loginsRefused') - before.loginsRefused).toBe(2);
    expect(c.get('authFailures') - before.authFailures).toBe(2);
    expect(c.get('authSuccesses')).toBe(before.authSuccesses);
  });
});
