import { describe, expect, it } from 'vitest';
import { FailureLimiter, LoginThrottle } from '@hearth/accounts';

const limits = { maxFailuresPerSource: 3, maxFailuresPerUser: 2 };

describe('FailureLimiter', () => {
  it('counts failures within the window only', () => {
    let now = 1000;
    const limiter = new FailureLimiter(100, () => now);
    limiter.record('a');
    now += 60;
    limiter.record('a');
    expect(limiter.count('a')).toBe(2);
    now += 50;
    expect(limiter.count('a')).toBe(1);
    now += 60;
    expect(limiter.count('a')).toBe(0);
    expect(limiter.count('b')).toBe(0);
  });
});

describe('LoginThrottle', () => {
  it('refuses a source past its limit, for any user', () => {
    const throttle = LoginThrottle.create(60_000);
    for (let i = 0; i < 3; i++) {
      expect(throttle.refuses('10.0.0.1', `u${i}`, limits)).toBe(false);
      throttle.failed('10.0.0.1', `u${i}`);
    }
    expect(throttle.refuses('10.0.0.1', 'someone', limits)).toBe(true);
    expect(throttle.refuses('10.0.0.2', 'someone', limits)).toBe(false);
  });

  it('refuses a user name past its limit from any source, whatever its case', () => {
    const throttle = LoginThrottle.create(60_000);
    throttle.failed('10.0.0.1', 'Alice');
    expect(throttle.refuses('10.0.0.9', 'alice', limits)).toBe(false);
    throttle.failed('10.0.0.2', 'alice');
    expect(throttle.refuses('10.0.0.9', 'ALICE', limits)).toBe(true);
    expect(throttle.refuses('10.0.0.9', 'bob', limits)).toBe(false);
  });

  it('forgets failures once the window has passed', () => {
    let now = 0;
    const throttle = LoginThrottle.create(1000, () => now);
    throttle.failed('s', 'alice');
    throttle.failed('s', 'alice');
    expect(throttle.refuses('s', 'alice', limits)).toBe(true);
    now = 1001;
    expect(throttle.refuses('s', 'alice', limits)).toBe(false);
  });
});
