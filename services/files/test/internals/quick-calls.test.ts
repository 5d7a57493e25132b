/**
 * The policy for a request's single file system calls (`quick-calls.ts`): made on the main thread
 * while they answer within 2 ms, through the thread pool for 10 s after two in a row that did not
 * (one alone is taken for the thread having been preempted), then on the main thread again; a call's result or error is the same either way. A fake clock stands
 * for the time a call takes.
 */
import { describe, expect, it } from 'vitest';
import { QuickCalls } from '../../dist/quick-calls.js';

/** A QuickCalls on a clock that moves only when told, and a counter of the thread-pool calls. */
function harness() {
  let now = 1_000;
  const calls = new QuickCalls(() => now);
  const counted = { sync: 0, async: 0 };
  /** A call that takes `ms` on the main thread and gives `value` either way. */
  const call = <T>(value: T, ms = 0): Promise<T> =>
    calls.call(
      () => {
        counted.sync++;
        now += ms;
        return value;
      },
      () => {
        counted.async++;
        return Promise.resolve(value);
      },
    );
  return { calls, counted, call, advance: (ms: number) => (now += ms) };
}

describe('QuickCalls', () => {
  it('makes calls on the main thread while each answers within 2 ms, with their results', async () => {
    const { calls, counted, call } = harness();
    expect(await call('a')).toBe('a');
    expect(await call('b', 2)).toBe('b');
    expect(counted).toEqual({ sync: 2, async: 0 });
    expect(calls.quick).toBe(true);
  });

  it('gives a call that throws on the main thread as a rejection with its error', async () => {
    const { calls } = harness();
    const error = Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' });
    const settled = calls.call(
      () => {
        throw error;
      },
      () => Promise.resolve('never'),
    );
    await expect(settled).rejects.toBe(error);
    expect(calls.quick).toBe(true);
  });

  it('sends the calls of the next 10 s through the thread pool after two in a row took longer than 2 ms, then makes them at once again', async () => {
    const { calls, counted, call, advance } = harness();
    expect(await call('slow', 3)).toBe('slow');
    expect(calls.quick).toBe(true);
    expect(await call('slow again', 3)).toBe('slow again');
    expect(calls.quick).toBe(false);
    expect(await call('later')).toBe('later');
    advance(9_990);
    expect(await call('still')).toBe('still');
    expect(counted).toEqual({ sync: 2, async: 2 });
    advance(20);
    expect(calls.quick).toBe(true);
    expect(await call('again')).toBe('again');
    expect(counted).toEqual({ sync: 3, async: 2 });
  });

  it('keeps making calls at once after slow ones that a quick one separates', async () => {
    const { calls, counted, call } = harness();
    for (let i = 0; i < 5; i++) {
      await call('slow', 3);
      await call('quick');
    }
    expect(calls.quick).toBe(true);
    expect(counted).toEqual({ sync: 10, async: 0 });
  });

  it('counts a call that threw and took long as slow too', async () => {
    let now = 0;
    const calls = new QuickCalls(() => now);
    const failing = (): Promise<number> =>
      calls.call(
        () => {
          now += 50;
          throw new Error('EIO');
        },
        () => Promise.resolve(0),
      );
    await expect(failing()).rejects.toThrow('EIO');
    expect(calls.quick).toBe(true);
    await expect(failing()).rejects.toThrow('EIO');
    expect(calls.quick).toBe(false);
  });
});
