/** The POP3 server's counters after a real poplib session: what it counted is what happened. */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleBacking, startPop3, type Harness } from './helpers.js';

let harness: Harness;
beforeAll(async () => {
  harness = await startPop3({ backing: sampleBacking() });
});
afterAll(() => harness.close());

function python(code: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('python3', ['-c', code], { timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout))),
  );
}

describe('counters', () => {
  it('count connections, logins, retrieved and deleted messages and bytes sent', async () => {
    const out = await python(`import poplib
p = poplib.POP3('127.0.0.1', ${harness.port}, timeout=10)
p.user('alice')
try:
    p.pass_('wrong')
except poplib.error_proto:
    pass
p.quit()
p = poplib.POP3('127.0.0.1', ${harness.port}, timeout=10)
p.user('alice')
p.pass_('secret')
sizes = [int(x.split()[1]) for x in p.list()[1]]
p.retr(1)
p.retr(3)
p.dele(3)
p.quit()
print(sizes[0] + sizes[2])`);
    const c = harness.pop3.counters;
    // The server sees the second close a moment after poplib returns.
    for (let i = 0; c.get('connectionsOpen') !== 0 && i < 500; i++) await new Promise((r) => setTimeout(r, 10));
    expect(c.snapshot()).toEqual({
      connectionsTotal: 2,
      connectionsOpen: 0,
      connectionsRefused: 0,
      authSuccesses: 1,
      authFailures: 1,
      loginsRefused: 0,
      messagesRetrieved: 2,
      messagesDeleted: 1,
      bytesOut: Number(out.trim()),
      messagesSent: 0,
      pushWaiting: 0,
      messagesPushed: 0,
    });
  });

  it("count a disabled account's right password as a login refused, a wrong one as a failure", async () => {
    const backing = sampleBacking();
    backing.disable('bob', 'on leave');
    const own = await startPop3({ backing });
    try {
      const out = await python(`import poplib
said = []
for password in ['hunter2', 'wrong']:
    p = poplib.POP3('127.0.0.1', ${own.port}, timeout=10)
    p.user('bob')
    try:
        p.pass_(password)
    except poplib.error_proto as e:
        said.append(e.args[0].decode())
    p.quit()
print('|'.join(said))`);
      expect(out.trim()).toBe('-ERR [AUTH] This account is disabled: on leave|-ERR [AUTH] Authentication failed');
      expect(own.pop3.counters.snapshot()).toMatchObject({ authSuccesses: 0, authFailures: 1, loginsRefused: 1 });
    } finally {
      await own.close();
    }
  });
});
