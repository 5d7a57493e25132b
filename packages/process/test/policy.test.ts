import { describe, expect, it } from 'vitest';
import { Backoff, CrashLoopDetector, decideOnExit, resolveUser, UserError, wrapWithLimits } from '@hearth/process';

const exit = (code: number | null, signal: NodeJS.Signals | null = null) => ({ code, signal, at: 0 });

describe('Backoff', () => {
  it('restarts at once first, then doubles up to the cap', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 500, stableMs: 10_000 });
    expect([0, 0, 0, 0, 0, 0].map(() => b.next(5))).toEqual([0, 100, 200, 400, 500, 500]);
  });

  it('starts over after a stable run', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 500, stableMs: 1000 });
    b.next(0);
    b.next(0);
    expect(b.next(0)).toBe(200);
    expect(b.next(1000)).toBe(0);
    expect(b.next(10)).toBe(100);
  });
});

describe('CrashLoopDetector', () => {
  it('trips at the fifth failure within the window, not when spread out', () => {
    const d = new CrashLoopDetector({ failures: 5, windowMs: 60_000 });
    expect([0, 1, 2, 3].map((t) => d.record(t * 1000))).toEqual([false, false, false, false]);
    expect(d.record(4000)).toBe(true);
    const spread = new CrashLoopDetector({ failures: 3, windowMs: 1000 });
    expect([0, 600, 1200, 1800, 2400].map((t) => spread.record(t))).toEqual([false, false, false, false, false]);
  });
});

describe('decideOnExit', () => {
  it('never restarts exit 78 or a permanent failure', () => {
    expect(decideOnExit('always', exit(78)).action).toBe('failed');
    expect(decideOnExit('always', exit(1), true).action).toBe('failed');
  });
  it('follows the policy', () => {
    expect(decideOnExit('always', exit(0)).action).toBe('restart');
    expect(decideOnExit('on-failure', exit(0)).action).toBe('stopped');
    expect(decideOnExit('on-failure', exit(null, 'SIGKILL')).action).toBe('restart');
    expect(decideOnExit('never', exit(0)).action).toBe('stopped');
    expect(decideOnExit('never', exit(2)).action).toBe('failed');
  });
});

describe('limits and user', () => {
  it('leaves argv alone without limits and refuses bad values', () => {
    expect(wrapWithLimits(['a'], {})).toEqual(['a']);
    expect(() => wrapWithLimits(['a'], { nofile: -1 })).toThrow(RangeError);
  });

  it('resolves a user only as root, with a clear error otherwise', () => {
    const lookup = (n: string) => (n === 'www' ? 'www:x:33:34:w:/var/www:/bin/sh\n' : undefined);
    expect(resolveUser('www', { isRoot: true, lookup })).toEqual({ name: 'www', uid: 33, gid: 34, home: '/var/www' });
    expect(() => resolveUser('www', { isRoot: false, lookup })).toThrow(/must run as root/);
    expect(() => resolveUser('ghost', { isRoot: true, lookup })).toThrow(UserError);
    expect(() => resolveUser('ghost', { isRoot: true, lookup })).toThrow('user "ghost": no such user');
  });
});
