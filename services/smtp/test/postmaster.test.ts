/** `postmaster` (RFC 5321 4.5.1): accepted bare and at every local domain, delivered to the postmaster. */
import { afterEach, describe, expect, it } from 'vitest';
import { message, python, startTestSmtp, type TestSmtp } from './harness.js';

let smtp: TestSmtp | undefined;
afterEach(async () => {
  await smtp?.close();
  smtp = undefined;
});

/** smtplib's RCPT codes for each address, then the message sent to those accepted. */
async function send(port: number, rcpts: readonly string[]): Promise<unknown> {
  return python(
    `s = smtplib.SMTP(HOST, PORT, timeout=10)
s.ehlo("client.example")
s.mail("someone@example.org")
codes = [s.rcpt(r)[0] for r in ${JSON.stringify(rcpts)}]
if 250 in codes:
    s.data(${JSON.stringify(message('to the postmaster'))})
s.quit()
out(codes)`,
    { port },
  );
}

describe('postmaster', () => {
  it('goes to the first administrator, bare and at every local domain, in one delivery', async () => {
    smtp = await startTestSmtp();
    smtp.store.accounts.setAdmin('bob', true);
    expect(await send(smtp.port('mx'), ['postmaster', 'postmaster@localhost', 'PostMaster@Example.Test'])).toEqual([250, 250, 250]);
    expect(smtp.store.deliveries.at(-1)).toEqual(['bob']);
    expect(await smtp.store.last('bob')).toContain('Subject: to the postmaster\r\n');
  });

  it('goes to the user the settings name, and never relays postmaster of another domain', async () => {
    smtp = await startTestSmtp({ settings: { postmaster: 'alice' } });
    smtp.store.accounts.setAdmin('bob', true);
    expect(await send(smtp.port('mx'), ['postmaster@localhost', 'postmaster@elsewhere.example'])).toEqual([250, 550]);
    expect(smtp.store.deliveries.at(-1)).toEqual(['alice']);
  });

  it('is refused like any unknown user when nobody can receive it', async () => {
    smtp = await startTestSmtp();
    expect(await send(smtp.port('mx'), ['postmaster@localhost'])).toEqual([550]);
  });
});
