/**
 * White-box tests of a listing's stat calls (`MemberStats`), with a clock of the test's own: a
 * batch stays on the main thread when one call of it was held up (the thread preempted), goes to
 * the thread pool for the rest of the listing once the batch's calls have taken over 10 ms, and
 * gives the same stats either way: files and folders as they are, links inside the share as what
 * they lead to, links out of it and names that are gone as nothing; in a worker thread too, where
 * the working directory cannot change and members go by path.
 */
import { lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemberStats } from '../../dist/member-stats.js';

let root: string;
let folder: string;
const names: string[] = [];

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'files-member-stats-'));
  folder = join(root, 'share', 'many');
  mkdirSync(join(folder, 'sub'), { recursive: true });
  for (let i = 0; i < 300; i++) writeFileSync(join(folder, `f${i}`), 'x'.repeat(i));
  symlinkSync(join(folder, 'f7'), join(folder, 'inside'));
  symlinkSync(root, join(folder, 'outside'));
  names.push(...Array.from({ length: 300 }, (_, i) => `f${i}`), 'sub', 'inside', 'outside', 'gone');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A clock that moves `step(i)` ms at its i-th reading. */
function clock(step: (i: number) => number): () => number {
  let t = 0;
  let i = 0;
  return () => {
    const now = t;
    t += step(i++);
    return now;
  };
}

/** What a listing shows of each name: the inode of what it finds, or undefined. */
function expected(): Array<number | undefined> {
  return names.map((n) => (n === 'outside' || n === 'gone' ? undefined : n === 'inside' ? statSync(join(folder, 'f7')).ino : lstatSync(join(folder, n)).ino));
}

describe('MemberStats', () => {
  it('keeps a batch on the main thread when one call of it was held up', async () => {
    // Every call takes 4 µs, but one takes 4 ms (a preempted thread): 5 ms for the batch in all.
    const stater = new MemberStats(clock((i) => (i === 5 ? 4 : 0.004)));
    const stats = await stater.stats(join(root, 'share'), folder, names);
    expect(stater.fast).toBe(true);
    expect(stats.map((s) => s?.ino)).toEqual(expected());
  });

  it('sends the rest of the listing to the thread pool once a batch has taken over 10 ms', async () => {
    // Every call takes 2 ms: the sixth one passes 10 ms.
    const stater = new MemberStats(clock(() => 2));
    const first = await stater.stats(join(root, 'share'), folder, names);
    expect(stater.fast).toBe(false);
    expect(first.map((s) => s?.ino)).toEqual(expected());
    const second = await stater.stats(join(root, 'share'), folder, names);
    expect(second.map((s) => s?.ino)).toEqual(expected());
  });

  it('gives the same stats in a worker thread, where the working directory cannot change', async () => {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.module).then(async ({ MemberStats }) => {
        const stats = await new MemberStats().stats(workerData.root, workerData.folder, workerData.names);
        parentPort.postMessage(stats.map((s) => s?.ino));
      });
    `;
    const module = new URL('../../dist/member-stats.js', import.meta.url).href;
    const worker = new Worker(code, { eval: true, workerData: { module, root: join(root, 'share'), folder, names } });
    const inos = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(inos).toEqual(expected());
  });

  it('gives back the process working directory after a batch', async () => {
    const before = process.cwd();
    await new MemberStats().stats(join(root, 'share'), folder, names.slice(0, 10));
    expect(process.cwd()).toBe(before);
  });
});
