/**
 * Brute force over POP3 against the real accounts and store: 200 wrong passwords in parallel from
 * one address and from four (client sockets bound to 127.0.0.1..4), counting the real password
 * checks; the owner logs in from a clean address; the counts survive a restart of the service. A
 * client retrying an old password is counted once; different wrong passwords are each counted.
 */
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSuiteAccounts, type Accounts, type LoginPolicy } from '@hearth/accounts';
import { openMailStore, type MailStore } from '@hearth/mail-store';
import { defaultSettings, loginLimits, storeBacking, type Pop3Settings } from '@hearth/pop3';
import { removeDir, startPop3, type Harness } from './helpers.js';

const settings: Pop3Settings = {
  ...defaultSettings(),
  maxLoginFailuresPerIp: 20,
  maxLoginFailuresPerUser: 10,
  loginFailureDelay: 100,
  maxConnectionsPerIp: 1000,
};

let dir: string;
let store: MailStore;
let accounts: Accounts;
let policy: LoginPolicy;
let harness: Harness;

async function startService(): Promise<void> {
  store = await openMailStore({ dir: join(dir, 'mail') });
  accounts = await openSuiteAccounts(dir, { passwordParams: { ln: 4, r: 8, p: 1 } });
  policy = accounts.loginPolicy(loginLimits(settings));
  harness = await startPop3({ backing: storeBacking(store, accounts), settings, loginPolicy: policy });
}

async function stopService(): Promise<void> {
  await harness.close();
  await store.close();
  await accounts.close(); // flushes the policy's counts
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pop3-login-policy-'));
  await startService();
  for (const name of ['alice', 'bob', 'carol', 'dave', 'erin']) {
    store.addMaildrop(name);
    await accounts.add(name, `${name}-pw`);
  }
});

afterAll(async () => {
  await stopService();
  removeDir(dir);
});

/**
 * One USER/PASS login from `from`: the reply to PASS, and how long it took after sending PASS.
 * PASS goes out once `go` resolves (after USER's +OK), so many clients can send it at once.
 */
function login(from: string, user: string, password: string, go: Promise<void> = Promise.resolve()): { ready: Promise<void>; done: Promise<{ reply: string; ms: number }> } {
  let ready!: () => void;
  const readyPromise = new Promise<void>((resolve) => (ready = resolve));
  const done = new Promise<{ reply: string; ms: number }>((resolve, reject) => {
    const socket = connect({ port: harness.port, host: '127.0.0.1', localAddress: from });
    let buffer = '';
    let lines = 0;
    let sentAt = 0;
    socket.setEncoding('utf8');
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed after ${lines} lines: ${buffer}`)));
    socket.on('data', (text: string) => {
      buffer += text;
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        lines++;
        if (lines === 1) {
          socket.write(`USER ${user}\r\n`);
        } else if (lines === 2) {
          ready();
          void go.then(() => {
            sentAt = Date.now();
            socket.write(`PASS ${password}\r\n`);
          });
        } else if (lines === 3) {
          socket.removeAllListeners('close');
          socket.end('QUIT\r\n');
          resolve({ reply: line, ms: Date.now() - sentAt });
        }
      }
    });
  });
  return { ready: readyPromise, done };
}

/** `count` logins whose PASS lines all go out at once, once every session has had USER's +OK. */
async function parallel(count: number, from: (i: number) => string, user: string): Promise<Array<{ reply: string; ms: number }>> {
  let go!: () => void;
  const barrier = new Promise<void>((resolve) => (go = resolve));
  const logins = Array.from({ length: count }, (_, i) => login(from(i), user, `guess-${i}`, barrier));
  await Promise.all(logins.map((l) => l.ready));
  go();
  return Promise.all(logins.map((l) => l.done));
}

const single = (from: string, user: string, password: string): Promise<{ reply: string; ms: number }> => login(from, user, password).done;

const tally = (replies: readonly string[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const reply of replies) out[reply] = (out[reply] ?? 0) + 1;
  return out;
};

const FAILED = '-ERR [AUTH] Authentication failed';
const REFUSED = '-ERR [SYS/TEMP] Too many failed logins; try again later';

describe('POP3 under brute force', () => {
  it('answers a failed login only after the delay', async () => {
    const { reply, ms } = await single('127.0.0.7', 'carol', 'wrong');
    expect(reply).toBe(FAILED);
    expect(ms).toBeGreaterThanOrEqual(95);
  });

  it('200 parallel guesses from one address get at most the per-pair limit of checks; the owner still logs in', async () => {
    const before = accounts.passwordChecks();
    const results = await parallel(200, () => '127.0.0.1', 'alice');
    const checks = accounts.passwordChecks() - before;
    expect(checks).toBeLessThanOrEqual(settings.maxLoginFailuresPerUser);
    expect(checks).toBeGreaterThan(0);
    expect(tally(results.map((r) => r.reply))).toEqual({ [FAILED]: checks, [REFUSED]: 200 - checks });
    expect(policy.stats()).toMatchObject({ refused: 200 - checks });
    // Past the user's limit the owner is slowed by the delay, not locked out.
    const owner = await single('127.0.0.9', 'alice', 'alice-pw');
    expect(owner.reply).toMatch(/^\+OK Logged in/);
    expect(owner.ms).toBeGreaterThanOrEqual(95);
    expect(owner.ms).toBeLessThan(settings.loginFailureDelay + 2000);
    // The attacking address is still refused, unchecked, even with the right password.
    const checked = accounts.passwordChecks();
    expect((await single('127.0.0.1', 'alice', 'alice-pw')).reply).toBe(REFUSED);
    expect(accounts.passwordChecks()).toBe(checked);
  });

  it('200 parallel guesses from four addresses get at most four times the per-pair limit', async () => {
    const before = accounts.passwordChecks();
    const sources = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
    const results = await parallel(200, (i) => sources[i % 4]!, 'bob');
    const checks = accounts.passwordChecks() - before;
    expect(checks).toBeLessThanOrEqual(4 * settings.maxLoginFailuresPerUser);
    expect(results.every((r) => r.reply === FAILED || r.reply === REFUSED)).toBe(true);
    expect((await single('127.0.0.10', 'bob', 'bob-pw')).reply).toMatch(/^\+OK Logged in/);
  });

  it('keeps the counts across a restart of the service', async () => {
    await stopService();
    await startService();
    expect(policy.counts('127.0.0.2', 'bob').pair).toBeGreaterThanOrEqual(1);
    const checked = accounts.passwordChecks();
    expect((await single('127.0.0.1', 'alice', 'alice-pw')).reply).toBe(REFUSED);
    expect((await single('127.0.0.2', 'bob', 'bob-pw')).reply).toBe(REFUSED);
    expect(accounts.passwordChecks()).toBe(checked);
    expect((await single('127.0.0.11', 'alice', 'alice-pw')).reply).toMatch(/^\+OK Logged in/);
  });
});

describe('POP3 and a client retrying an old password', () => {
  // More tries than either limit allows failures.
  const tries = settings.maxLoginFailuresPerIp + 5;

  it('answers the same old password as a failure every time but counts it once: the right one from that address logs in', async () => {
    expect((await single('127.0.0.20', 'dave', 'dave-pw')).reply).toMatch(/^\+OK Logged in/);
    await accounts.setPassword('dave', 'dave-new-pw');
    const checked = accounts.passwordChecks();
    for (let i = 0; i < tries; i++) {
      const { reply, ms } = await single('127.0.0.20', 'dave', 'dave-pw');
      expect(reply, `try ${i + 1}`).toBe(FAILED);
      expect(ms).toBeGreaterThanOrEqual(95);
    }
    expect(accounts.passwordChecks() - checked).toBe(tries);
    // The first counts, then 20 (maxLoginFailuresPerIp) repeats in a row go uncounted, the next counts.
    expect(policy.counts('127.0.0.20', 'dave')).toEqual({ source: 2, user: 2, pair: 2 });
    expect((await single('127.0.0.20', 'dave', 'dave-new-pw')).reply).toMatch(/^\+OK Logged in/);
  });

  it('counts different wrong passwords from one address each time: the address is refused, even the right one', async () => {
    const replies: string[] = [];
    for (let i = 0; i < tries; i++) replies.push((await single('127.0.0.21', 'erin', `guess-${i}`)).reply);
    const failed = settings.maxLoginFailuresPerUser;
    expect(tally(replies)).toEqual({ [FAILED]: failed, [REFUSED]: tries - failed });
    expect((await single('127.0.0.21', 'erin', 'erin-pw')).reply).toBe(REFUSED);
  });
});
