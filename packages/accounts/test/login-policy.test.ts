import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LoginPolicy } from '@hearth/accounts';
import { open, tempDir } from './helpers.js';

const limits = { maxFailuresPerSource: 5, maxFailuresPerUser: 3, windowMs: 60_000, delayMs: 0 };
const wrong = async (): Promise<string | undefined> => undefined;
const right = async (): Promise<string | undefined> => 'alice';

/** A check that resolves only when the test says so, counting its calls. */
function gatedCheck(): { check: () => Promise<string | undefined>; calls: () => number; open: () => void } {
  let calls = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  return {
    check: async () => {
      calls++;
      await gate;
      return undefined;
    },
    calls: () => calls,
    open: () => release(),
  };
}

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

describe('LoginPolicy in memory', () => {
  it('reserves before the check: 40 parallel attempts from one address get 3 checks (the pair limit)', async () => {
    const policy = new LoginPolicy(limits);
    const gate = gatedCheck();
    const results = Array.from({ length: 40 }, () => policy.attempt('10.0.0.1', 'alice', gate.check));
    expect(gate.calls()).toBe(3);
    gate.open();
    const reasons = (await Promise.all(results)).map((r) => (r.ok ? 'ok' : r.reason));
    expect(reasons.filter((r) => r === 'failed')).toHaveLength(3);
    expect(reasons.filter((r) => r === 'refused')).toHaveLength(37);
    expect(policy.stats()).toMatchObject({ checks: 3, failures: 3, refused: 37, delayed: 40 });
  });

  it('a burst of right logins from one address waits for room and is never refused: at most the limit checked at once', async () => {
    const policy = new LoginPolicy(limits);
    let underway = 0;
    let most = 0;
    const releases: Array<() => void> = [];
    const check = (name: string) => async (): Promise<string | undefined> => {
      underway++;
      most = Math.max(most, underway);
      await new Promise<void>((resolve) => releases.push(resolve));
      underway--;
      return name;
    };
    const results = Array.from({ length: 30 }, (_, i) => policy.attempt('10.0.0.1', `u${i}`, check(`u${i}`)));
    let done = 0;
    void Promise.all(results).then(() => (done = 30));
    // Let each check under way end, one at a time, until all 30 have been checked.
    for (let ended = 0; ended < 30; ended++) {
      await vi.waitFor(() => expect(releases.length).toBeGreaterThan(0));
      releases.shift()!();
    }
    const outcomes = await Promise.all(results);
    expect(done).toBe(30);
    expect(outcomes.every((r) => r.ok)).toBe(true);
    expect(most).toBe(limits.maxFailuresPerSource);
    expect(policy.stats()).toMatchObject({ checks: 30, successes: 30, refused: 0 });
  });

  it('refuses an address past its limit for every user, and not other addresses', async () => {
    const policy = new LoginPolicy(limits);
    for (let i = 0; i < 5; i++) expect(await policy.attempt('10.0.0.1', `u${i}`, wrong)).toEqual({ ok: false, reason: 'failed' });
    expect(await policy.attempt('10.0.0.1', 'someone', right)).toEqual({ ok: false, reason: 'refused' });
    expect(await policy.attempt('10.0.0.2', 'someone', right)).toEqual({ ok: true, value: 'alice' });
  });

  it('counts an IPv6 address as its /64: a host cannot take fresh counts from the addresses of its own subnet', async () => {
    const policy = new LoginPolicy(limits);
    for (let i = 1; i <= 5; i++) expect(await policy.attempt(`2001:db8:0:1::${i.toString(16)}`, `u${i}`, wrong)).toEqual({ ok: false, reason: 'failed' });
    for (const same of ['2001:db8:0:1::99', '2001:DB8::1:aaaa:bbbb:cccc:dddd', '2001:db8:0:1:0:0:192.0.2.1', '2001:db8:0:1::1%eth0']) {
      expect(await policy.attempt(same, 'someone', right), same).toEqual({ ok: false, reason: 'refused' });
    }
    expect(policy.counts('2001:db8:0:1:ffff::', 'u1')).toEqual({ source: 5, user: 1, pair: 1 });
    // The next /64, another customer of the same provider, and IPv4 are not touched.
    for (const other of ['2001:db8:0:2::1', '2001:db8::1', '::1', '192.0.2.1']) {
      expect(await policy.attempt(other, 'someone', right), other).toEqual({ ok: true, value: 'alice' });
    }
  });

  it('never locks a user out for everyone: past its limit, others are slowed by the delay, then checked', async () => {
    const policy = new LoginPolicy({ ...limits, delayMs: 150 });
    const waits: number[] = [];
    const wait = async (ms: number): Promise<void> => void waits.push(ms);
    for (const source of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) await policy.attempt(source, 'Alice', wrong, { wait });
    expect(policy.counts('10.0.0.9', 'alice').user).toBe(3);
    waits.length = 0;
    expect(await policy.attempt('10.0.0.9', 'alice', right, { wait })).toEqual({ ok: true, value: 'alice' });
    expect(waits).toEqual([150]); // slowed once, before the check
    expect(policy.stats().slowed).toBe(1);
    const started = Date.now();
    expect(await policy.attempt('10.0.0.8', 'ALICE', right)).toEqual({ ok: true, value: 'alice' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140); // the real wait is a timer
  });

  it('does not slow a recheck of credentials a connection had accepted; it is refused and counted as any attempt', async () => {
    const policy = new LoginPolicy({ ...limits, delayMs: 150 });
    const waits: number[] = [];
    const wait = async (ms: number): Promise<void> => void waits.push(ms);
    for (const source of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) await policy.attempt(source, 'alice', wrong, { wait });
    waits.length = 0;
    expect(await policy.attempt('10.0.0.9', 'alice', right, { wait, recheck: true })).toEqual({ ok: true, value: 'alice' });
    expect(waits).toEqual([]);
    expect(policy.stats().slowed).toBe(0);
    expect(await policy.attempt('10.0.0.9', 'alice', wrong, { wait, recheck: true })).toEqual({ ok: false, reason: 'failed' });
    expect(waits).toEqual([150]);
    expect(policy.counts('10.0.0.9', 'alice')).toEqual({ source: 1, user: 4, pair: 1 });
    for (let i = 0; i < 5; i++) await policy.attempt('10.0.0.5', `u${i}`, wrong, { wait });
    expect(await policy.attempt('10.0.0.5', 'alice', right, { wait, recheck: true })).toEqual({ ok: false, reason: 'refused' });
  });

  it('counts a wrong password repeated by the same address for the same user once: a stale client does not lock its user out', async () => {
    const policy = new LoginPolicy({ ...limits, delayMs: 150 });
    const waits: number[] = [];
    const wait = async (ms: number): Promise<void> => void waits.push(ms);
    let checks = 0;
    const oldPassword = async (): Promise<string | undefined> => (checks++, undefined);
    for (let i = 0; i < 12; i++) {
      expect(await policy.attempt('10.0.0.1', 'alice', oldPassword, { wait, password: 'old-pw' })).toEqual({ ok: false, reason: 'failed' });
    }
    // Every repeat is checked (a password set back to it works) and answered after the delay.
    expect(checks).toBe(12);
    expect(waits).toEqual(Array<number>(12).fill(150));
    // The first counts, then five repeats (maxFailuresPerSource) in a row go uncounted, the sixth counts.
    expect(policy.counts('10.0.0.1', 'alice')).toEqual({ source: 2, user: 2, pair: 2 });
    expect(policy.stats()).toMatchObject({ checks: 12, failures: 12, repeated: 10, refused: 0, slowed: 0, delayed: 12 });
    expect(await policy.attempt('10.0.0.1', 'Alice', right, { wait, password: 'alice-pw' })).toEqual({ ok: true, value: 'alice' });
  });

  it('lets at most maxFailuresPerSource repeats in a row go uncounted: one password repeated without end is refused in time', async () => {
    const policy = new LoginPolicy(limits);
    let checks = 0;
    const tried = async (): Promise<string | undefined> => (checks++, undefined);
    // Each sixth attempt counts: the pair's limit of 3 is reached at the 13th, one count a
    // round of six (the first of each round).
    for (let i = 0; i < 13; i++) expect(await policy.attempt('10.0.0.1', 'alice', tried, { password: 'same' })).toEqual({ ok: false, reason: 'failed' });
    expect(policy.counts('10.0.0.1', 'alice')).toEqual({ source: 3, user: 3, pair: 3 });
    expect(await policy.attempt('10.0.0.1', 'alice', tried, { password: 'same' })).toEqual({ ok: false, reason: 'refused' });
    expect(checks).toBe(13);
  });

  it('takes right credentials that isLogin says are no login (a disabled account) as neither a failure nor a login, answered after the delay', async () => {
    const policy = new LoginPolicy({ ...limits, delayMs: 150 });
    const waits: number[] = [];
    const wait = async (ms: number): Promise<void> => void waits.push(ms);
    const disabled = async (): Promise<{ kind: string } | undefined> => ({ kind: 'disabled' });
    const isLogin = (value: { kind: string }): boolean => value.kind === 'accepted';
    for (const password of ['a', 'b', 'c', 'd']) await policy.attempt('10.0.0.1', `u-${password}`, async () => undefined, { password, wait });
    expect(policy.counts('10.0.0.1', 'alice').source).toBe(4);
    // Asked again and again (a disabled account's phone), it adds no failure ...
    waits.length = 0;
    for (let i = 0; i < 10; i++) expect(await policy.attempt('10.0.0.1', 'alice', disabled, { isLogin, wait })).toEqual({ ok: true, value: { kind: 'disabled' } });
    // ... each answered after the delay of a failure ...
    expect(waits).toEqual(Array<number>(10).fill(150));
    // ... nor clears the address's: one more failure reaches the limit, as without it.
    expect(policy.counts('10.0.0.1', 'alice')).toEqual({ source: 4, user: 0, pair: 0 });
    await policy.attempt('10.0.0.1', 'u-e', async () => undefined, { wait });
    expect(await policy.attempt('10.0.0.1', 'alice', disabled, { isLogin, wait })).toEqual({ ok: false, reason: 'refused' });
    expect(policy.stats()).toMatchObject({ checks: 15, successes: 0, notLogins: 10, failures: 5, refused: 1, delayed: 16 });
  });

  it('counts every different wrong password, and the same one again after another', async () => {
    const policy = new LoginPolicy(limits);
    for (const password of ['a', 'b', 'a']) await policy.attempt('10.0.0.1', 'alice', wrong, { password });
    expect(policy.counts('10.0.0.1', 'alice')).toEqual({ source: 3, user: 3, pair: 3 });
    expect(await policy.attempt('10.0.0.1', 'alice', right, { password: 'b' })).toEqual({ ok: false, reason: 'refused' });
    expect(policy.stats().repeated).toBe(0);
  });

  it('counts a repeat from another address, for another user, after a success, or past the window; and without a password, every time', async () => {
    let now = 1_000_000;
    const policy = new LoginPolicy({ ...limits, now: () => now });
    const password = 'old-pw';
    await policy.attempt('10.0.0.1', 'alice', wrong, { password });
    await policy.attempt('10.0.0.2', 'alice', wrong, { password });
    await policy.attempt('10.0.0.1', 'bob', wrong, { password });
    expect(policy.counts('10.0.0.1', 'alice')).toEqual({ source: 2, user: 2, pair: 1 });
    await policy.attempt('10.0.0.1', 'alice', right);
    await policy.attempt('10.0.0.1', 'alice', wrong, { password });
    expect(policy.counts('10.0.0.1', 'alice').pair).toBe(1);
    now += limits.windowMs + 1;
    await policy.attempt('10.0.0.3', 'carol', wrong, { password });
    now += limits.windowMs + 1;
    await policy.attempt('10.0.0.3', 'carol', wrong, { password });
    expect(policy.counts('10.0.0.3', 'carol').pair).toBe(1); // the first one's count expired too
    for (let i = 0; i < 3; i++) expect(await policy.attempt('10.0.0.4', 'dave', wrong)).toEqual({ ok: false, reason: 'failed' });
    expect(await policy.attempt('10.0.0.4', 'dave', right)).toEqual({ ok: false, reason: 'refused' });
    expect(policy.stats().repeated).toBe(0);
  });

  it('keeps the last wrong password of at most maxKeys pairs, the least recently failed dropped first', async () => {
    const policy = new LoginPolicy({ ...limits, maxFailuresPerSource: 100, maxKeys: 2 });
    const password = 'old-pw';
    for (const user of ['u1', 'u2', 'u3']) await policy.attempt('10.0.0.1', user, wrong, { password });
    await policy.attempt('10.0.0.1', 'u3', wrong, { password });
    expect(policy.stats().repeated).toBe(1);
    await policy.attempt('10.0.0.1', 'u1', wrong, { password });
    expect(policy.stats().repeated).toBe(1);
  });

  it('a success resets its source: the address may fail again as if new', async () => {
    const policy = new LoginPolicy(limits);
    for (let i = 0; i < 2; i++) await policy.attempt('10.0.0.1', 'alice', wrong);
    expect(await policy.attempt('10.0.0.1', 'alice', right)).toMatchObject({ ok: true });
    expect(policy.counts('10.0.0.1', 'alice')).toEqual({ source: 0, user: 2, pair: 0 });
  });

  it('gives back the reservation of a check that throws', async () => {
    const policy = new LoginPolicy(limits);
    await expect(policy.attempt('10.0.0.1', 'alice', () => Promise.reject(new Error('disk')))).rejects.toThrow('disk');
    expect(policy.counts('10.0.0.1', 'alice')).toEqual({ source: 0, user: 0, pair: 0 });
  });

  it('forgets a count once the window has passed since its last failure', async () => {
    let now = 1_000_000;
    const policy = new LoginPolicy({ ...limits, now: () => now });
    for (let i = 0; i < 3; i++) await policy.attempt('s', 'alice', wrong);
    expect((await policy.attempt('s', 'alice', right)).ok).toBe(false);
    now += 60_001;
    expect(policy.counts('s', 'alice')).toEqual({ source: 0, user: 0, pair: 0 });
    expect((await policy.attempt('s', 'alice', right)).ok).toBe(true);
  });
});

describe('LoginPolicy in the accounts database', () => {
  it('keeps its counts across a reopen, and shares them with another process’s policy', async () => {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    const first = await open(dir);
    const policy = first.loginPolicy({ ...limits, flushMs: 10_000 });
    for (let i = 0; i < 3; i++) await policy.attempt('10.0.0.1', 'alice', wrong);
    const other = await open(dir);
    cleanups.push(() => other.close());
    const otherPolicy = other.loginPolicy(limits);
    expect(otherPolicy.counts('10.0.0.1', 'alice').pair).toBe(0); // not written yet (write-behind)
    expect(policy.flush()).toBe(true);
    expect(otherPolicy.counts('10.0.0.1', 'alice')).toEqual({ source: 3, user: 3, pair: 3 });
    await policy.attempt('10.0.0.2', 'alice', wrong);
    await first.close(); // flushes
    const again = await open(dir);
    cleanups.push(() => again.close());
    const reopened = again.loginPolicy(limits);
    expect(reopened.counts('10.0.0.1', 'alice')).toEqual({ source: 3, user: 4, pair: 3 });
    expect(await reopened.attempt('10.0.0.1', 'alice', right)).toEqual({ ok: false, reason: 'refused' });
    expect((await reopened.attempt('10.0.0.2', 'alice', right)).ok).toBe(true);
    reopened.flush();
    expect(otherPolicy.counts('10.0.0.2', 'alice')).toEqual({ source: 0, user: 4, pair: 0 });
  });

  it('keeps counting when the database cannot be written, and writes once it can', async () => {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    const accounts = await open(dir);
    cleanups.push(() => accounts.close());
    const policy = accounts.loginPolicy({ ...limits, flushMs: 10_000 });
    // Another process holds the write lock: the flush gives up after its short busy wait.
    const holder = new Database(join(dir, 'accounts.sqlite'));
    holder.exec('BEGIN IMMEDIATE');
    for (let i = 0; i < 3; i++) await policy.attempt('10.0.0.1', 'alice', wrong);
    const started = Date.now();
    expect(policy.flush()).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(policy.stats().storageErrors).toBe(1);
    expect(await policy.attempt('10.0.0.1', 'alice', right)).toEqual({ ok: false, reason: 'refused' });
    holder.exec('COMMIT');
    holder.close();
    expect(policy.flush()).toBe(true);
    const reader = new Database(join(dir, 'accounts.sqlite'), { readonly: true });
    expect(reader.prepare("SELECT count FROM login_failures WHERE key = 'p:10.0.0.1 alice'").pluck().get()).toBe(3);
    reader.close();
  });

  it('logs in when the database can be neither read nor written (counts in memory)', async () => {
    const broken = (): never => {
      throw Object.assign(new Error('attempt to write a readonly database'), { code: 'SQLITE_READONLY' });
    };
    const policy = new LoginPolicy({ ...limits, flushMs: 1 }, { get: broken, apply: broken });
    for (let i = 0; i < 3; i++) expect(await policy.attempt('10.0.0.1', 'alice', wrong)).toEqual({ ok: false, reason: 'failed' });
    expect(await policy.attempt('10.0.0.1', 'alice', right)).toEqual({ ok: false, reason: 'refused' });
    expect(await policy.attempt('10.0.0.2', 'alice', right)).toEqual({ ok: true, value: 'alice' });
    expect(policy.flush()).toBe(false);
    policy.close();
  });

  it('bounds the rows it keeps', async () => {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    const accounts = await open(dir);
    cleanups.push(() => accounts.close());
    const reader = new Database(join(dir, 'accounts.sqlite'), { readonly: true });
    const rows = (): unknown => reader.prepare('SELECT count(*) FROM login_failures').pluck().get();
    const expected = { 1: 45, 2: 50 }; // three keys per attempt, 15 attempts per round
    for (const round of [1, 2] as const) {
      // A policy caps the table at its first flush (and every hundredth).
      const policy = accounts.loginPolicy({ ...limits, maxKeys: 50, flushMs: 10_000 });
      for (let i = 0; i < 15; i++) await policy.attempt(`10.0.${round}.${i}`, `user${round}x${i}`, wrong);
      expect(policy.flush()).toBe(true);
      expect(rows()).toBe(expected[round]);
    }
    reader.close();
  });
});
