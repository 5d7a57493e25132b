import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { HandlerGoneError, HandlerTable } from '@hearth/runtime';

function leaseOf<V>(table: HandlerTable<V>, key: string) {
  const got = table.acquire(key);
  if (!got.ok) throw new Error(got.message);
  return got.lease;
}

describe('HandlerTable', () => {
  it('counts references per entry and in total', () => {
    const t = new HandlerTable<string>();
    t.set('docs', '/srv/docs');
    t.set('music', '/srv/music');
    const a = leaseOf(t, 'docs');
    const b = leaseOf(t, 'docs');
    const c = leaseOf(t, 'music');
    expect(a.value).toBe('/srv/docs');
    expect(t.refs('docs')).toBe(2);
    expect(t.totalRefs).toBe(3);
    a.release();
    b.release();
    c.release();
    expect(t.totalRefs).toBe(0);
  });

  it('makes release idempotent', () => {
    const t = new HandlerTable<number>();
    t.set('k', 1);
    const a = leaseOf(t, 'k');
    const b = leaseOf(t, 'k');
    a.release();
    a.release();
    a.release();
    expect(a.released).toBe(true);
    expect(t.refs('k')).toBe(1);
    b.release();
    expect(t.totalRefs).toBe(0);
  });

  it('answers "gone" for an unknown or removed key', () => {
    const t = new HandlerTable<number>();
    const miss = t.acquire('nope');
    expect(miss.ok).toBe(false);
    if (!miss.ok) expect(miss.reason).toBe('gone');
    t.set('k', 1);
    expect(t.delete('k')).toBe(true);
    expect(t.delete('k')).toBe(false);
    const gone = t.acquire('k');
    expect(gone.ok ? 'ok' : gone.reason).toBe('gone');
  });

  it('changes its version with every set, delete and drain, and only then', async () => {
    const t = new HandlerTable<string>();
    const seen = [t.version];
    const changed = (): boolean => {
      const now = t.version;
      const was = seen[seen.length - 1];
      seen.push(now);
      return now !== was;
    };
    t.set('docs', '/srv/docs');
    expect(changed()).toBe(true);
    // Looking, leasing and giving back change nothing.
    t.peek('docs');
    t.has('docs');
    leaseOf(t, 'docs').release();
    expect(changed()).toBe(false);
    t.set('docs', '/srv/docs2');
    expect(changed()).toBe(true);
    expect(t.delete('docs')).toBe(true);
    expect(changed()).toBe(true);
    // Nothing to delete: nothing changed.
    expect(t.delete('docs')).toBe(false);
    expect(changed()).toBe(false);
    t.set('music', '/srv/music');
    expect(changed()).toBe(true);
    await t.drain(Date.now());
    expect(changed()).toBe(true);
    // Every version seen was new when it changed.
    expect(new Set(seen).size).toBe(seen.length - 2);
  });

  it('replacing an entry: running requests keep the old one, new ones see the new one, old cleanup waits for zero', () => {
    const cleanup = vi.fn();
    const t = new HandlerTable<string>();
    t.set('share', 'v1', { cleanup });
    const running = leaseOf(t, 'share');
    t.set('share', 'v2');
    expect(running.value).toBe('v1');
    expect(running.stale).toBe(true);
    const fresh = leaseOf(t, 'share');
    expect(fresh.value).toBe('v2');
    expect(fresh.stale).toBe(false);
    expect(t.retired()).toEqual([{ key: 'share', refs: 1 }]);
    expect(cleanup).not.toHaveBeenCalled();
    running.release();
    expect(cleanup).toHaveBeenCalledTimes(1);
    expect(cleanup).toHaveBeenCalledWith('v1');
    running.release();
    expect(cleanup).toHaveBeenCalledTimes(1);
    fresh.release();
    expect(t.totalRefs).toBe(0);
  });

  it('cleans an unreferenced entry at once when it is replaced or deleted', () => {
    const cleanup = vi.fn();
    const t = new HandlerTable<string>();
    t.set('a', 'v1', { cleanup });
    t.set('a', 'v2', { cleanup });
    expect(cleanup).toHaveBeenCalledWith('v1');
    t.delete('a');
    expect(cleanup).toHaveBeenCalledWith('v2');
    expect(cleanup).toHaveBeenCalledTimes(2);
  });

  it('with(): releases when the request throws', async () => {
    const t = new HandlerTable<string>();
    t.set('a', 'v');
    await expect(
      t.with('a', async () => {
        expect(t.totalRefs).toBe(1);
        throw new Error('request failed');
      }),
    ).rejects.toThrow('request failed');
    expect(t.totalRefs).toBe(0);
    await expect(t.with('b', () => 1)).rejects.toBeInstanceOf(HandlerGoneError);
    expect(await t.with('a', (v) => v.toUpperCase())).toBe('V');
    expect(t.totalRefs).toBe(0);
  });

  it('a client disconnecting midway releases once from every path', async () => {
    const t = new HandlerTable<string>();
    t.set('share', 'v1');
    const client = new PassThrough();
    const lease = leaseOf(t, 'share');
    // A transfer releases on error, on close and when it completes: only the first counts.
    client.on('error', () => lease.release());
    client.on('close', () => lease.release());
    const transfer = t.with('share', async () => {
      await new Promise((resolve, reject) => {
        client.on('close', () => reject(new Error('client went away')));
        client.on('end', resolve);
      });
    });
    expect(t.totalRefs).toBe(2);
    client.destroy(new Error('ECONNRESET'));
    await expect(transfer).rejects.toThrow('client went away');
    lease.release();
    expect(t.totalRefs).toBe(0);
  });

  it('drain waits for running requests, refuses new ones, and runs cleanups', async () => {
    const cleanups: string[] = [];
    const t = new HandlerTable<string>();
    t.set('a', 'va', { cleanup: async (v) => void cleanups.push(v) });
    t.set('b', 'vb', { cleanup: (v) => void cleanups.push(v) });
    const long = leaseOf(t, 'a');
    const draining = t.drain(Date.now() + 5000);
    expect(t.closed).toBe(true);
    const refused = t.acquire('b');
    expect(refused.ok ? 'ok' : refused.reason).toBe('closed');
    expect(() => t.set('c', 'vc')).toThrow(/closed/);
    expect(cleanups).toEqual(['vb']);
    let done = false;
    void draining.then(() => (done = true));
    // Every promise and pending callback has run by the next turn of the loop: a drain that did
    // not wait for the lease would have settled.
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    long.release();
    expect(await draining).toEqual({ drained: true, left: [] });
    expect(cleanups).toEqual(['vb', 'va']);
  });

  it('drain reports what is left at the deadline', async () => {
    const t = new HandlerTable<string>();
    t.set('stuck', 'v');
    const lease = leaseOf(t, 'stuck');
    leaseOf(t, 'stuck');
    const result = await t.drain(Date.now() + 30);
    expect(result).toEqual({ drained: false, left: [{ key: 'stuck', refs: 2 }] });
    lease.release();
    expect(t.totalRefs).toBe(1);
  });

  it('drain of an idle table resolves at once', async () => {
    const t = new HandlerTable<number>();
    t.set('a', 1);
    expect(await t.drain(Date.now() + 10_000)).toEqual({ drained: true, left: [] });
  });

  it('reports a failing cleanup and carries on', async () => {
    const errors: string[] = [];
    const t = new HandlerTable<number>({ onCleanupError: (key, err) => errors.push(`${key}: ${(err as Error).message}`) });
    t.set('a', 1, {
      cleanup: () => {
        throw new Error('sync boom');
      },
    });
    t.set('b', 2, { cleanup: async () => Promise.reject(new Error('async boom')) });
    t.delete('a');
    t.delete('b');
    await new Promise((r) => setImmediate(r));
    expect(errors).toEqual(['a: sync boom', 'b: async boom']);
  });
});
