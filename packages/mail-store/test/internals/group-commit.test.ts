import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../dist/group-commit.js';
import { CrlfNormalizer } from '../../dist/crlf.js';

describe('GroupCommit', () => {
  it('commits a lone item at once and batches items that arrive while a commit is in flight', async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const group = new GroupCommit<number, number>(async (items) => {
      batches.push([...items]);
      if (batches.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return items.map((n) => ({ ok: true as const, value: n * 10 }));
    });
    const first = group.submit(1);
    expect(batches).toEqual([[1]]); // started synchronously: a lone item waits for nothing
    const rest = [2, 3, 4].map((n) => group.submit(n));
    release();
    expect(await Promise.all([first, ...rest])).toEqual([10, 20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
    await group.idle();
  });

  it('settles items one by one and fails a whole batch when the commit throws', async () => {
    let fail = false;
    const group = new GroupCommit<number, number>(async (items) => {
      if (fail) throw new Error('disk full');
      return items.map((n) => (n % 2 ? { ok: true as const, value: n } : { ok: false as const, error: new Error(`bad ${n}`) }));
    });
    await expect(group.submit(1)).resolves.toBe(1);
    await expect(group.submit(2)).rejects.toThrow('bad 2');
    fail = true;
    const results = await Promise.allSettled([group.submit(3), group.submit(5)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});

describe('CrlfNormalizer', () => {
  it('turns bare LF into CRLF across chunk boundaries and keeps existing CRLF', () => {
    const n = new CrlfNormalizer();
    const out = ['a\n', 'b\r', '\nc\r\n', '\n', 'd'].map((s) => n.push(Buffer.from(s)).toString()).join('');
    expect(out).toBe('a\r\nb\r\nc\r\n\r\nd');
  });
});
