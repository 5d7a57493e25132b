/**
 * A disabled account's reason as Python's poplib reads it: in US-ASCII (this server offers no
 * UTF8 or LANG, RFC 6856, so no client has asked for UTF-8 reply text), and on one line, also
 * when a reason stored before control characters were refused holds a line break.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleBacking, startPop3, type Harness } from './helpers.js';

let harness: Harness;
beforeAll(async () => {
  const backing = sampleBacking();
  // A reason from before the rules (the memory backing takes any): what `hearth user disable` refuses now.
  backing.disable('bob', 'on leave\r\n+OK until May');
  backing.addUser('zoe', 'zoe-secret');
  backing.disable('zoe', 'congé jusqu’au 3 mai — voir Zoë…');
  harness = await startPop3({ backing });
});
afterAll(() => harness.close());

/** Logs in as `user` with its right password, then as alice (3 messages); what poplib was told. */
function loginThenAlice(user: string, password: string): Promise<string> {
  const code = `import poplib
p = poplib.POP3('127.0.0.1', ${harness.port}, timeout=10)
p.user('${user}')
try:
    p.pass_('${password}')
    print('logged in')
except poplib.error_proto as e:
    print(e.args[0].decode('ascii'))
p.user('alice')
p.pass_('secret')
print(p.stat()[0])
p.quit()`;
  return new Promise((resolve, reject) =>
    execFile('python3', ['-c', code], { timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout))),
  );
}

describe("a disabled account's reason", () => {
  it('is sent in US-ASCII: accents dropped, dashes and quotes plain', async () => {
    expect(await loginThenAlice('zoe', 'zoe-secret')).toBe("-ERR [AUTH] This account is disabled: conge jusqu'au 3 mai - voir Zoe...\n3\n");
  });

  it('stored with a line break, is sent on one line: the session goes on in step', async () => {
    expect(await loginThenAlice('bob', 'hunter2')).toBe('-ERR [AUTH] This account is disabled: on leave??+OK until May\n3\n');
  });
});
