import { describe, expect, it } from 'vitest';
import { drainUntil, goodbyeAt, GOODBYE_MARGIN_MS, whenEmpty } from '../dist/index.js';

describe('drainUntil (the drain rule)', () => {
  it('says the goodbye shortly before the deadline, a quarter of the time when that is shorter', () => {
    expect(goodbyeAt(100_000, 90_000)).toBe(100_000 - GOODBYE_MARGIN_MS);
    expect(goodbyeAt(10_400, 10_000)).toBe(10_300);
    expect(goodbyeAt(10_000, 12_000)).toBe(10_000);
  });

  it('finishes without goodbye or destroy when the sessions end by themselves', async () => {
    let open = 2;
    const tracker = whenEmpty(() => open);
    const calls: string[] = [];
    const drained = drainUntil(Date.now() + 10_000, {
      idle: tracker.empty,
      goodbye: () => calls.push('goodbye'),
      destroy: () => calls.push('destroy'),
    });
    open--;
    tracker.changed();
    open--;
    tracker.changed();
    expect(await drained).toBe('finished');
    expect(calls).toEqual([]);
  });

  it('says the goodbye to what is still open, and destroys only what outlives the deadline', async () => {
    let open = 1;
    const tracker = whenEmpty(() => open);
    const polite = await drainUntil(Date.now() + 200, {
      idle: tracker.empty,
      goodbye: () => {
        open = 0;
        tracker.changed();
      },
      destroy: () => expect.fail('destroy after a goodbye that closed everything'),
    });
    expect(polite).toBe('goodbye');
    const calls: string[] = [];
    const stubborn = await drainUntil(Date.now() + 200, {
      idle: new Promise(() => {}),
      goodbye: () => calls.push('goodbye'),
      destroy: () => calls.push('destroy'),
    });
    expect(stubborn).toBe('destroyed');
    expect(calls).toEqual(['goodbye', 'destroy']);
  });

  it('is empty at once when nothing is open', async () => {
    expect(await drainUntil(Date.now() + 60_000, { idle: whenEmpty(() => 0).empty, goodbye: () => {}, destroy: () => {} })).toBe('finished');
  });
});
