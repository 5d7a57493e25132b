/**
 * The background build's cgroup (`background.ts`) and the cleanup of what a killed run left
 * (`reapStaleEngines`), for real on this machine's cgroup file systems; no engine. Runs with the
 * suite. Needs root, as the container test does: where Docker cannot run it is skipped, in CI
 * that fails.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '@hearth/testkit';
import { foldersOf, makeBackgroundCgroup } from './background.js';
import { ENGINES_DIR, alive, reapStaleEngines } from './engine.js';
import { whyDockerCannotRun } from './exec.js';

const cannotRun = whyDockerCannotRun();

/** The pid of a process that has exited and been reaped: an owner that is gone. */
function deadPid(): number {
  const pid = spawnSync('true').pid;
  if (pid === undefined || alive(pid)) throw new Error('no exited process to borrow a pid from');
  return pid;
}

/** The folder of `parent` in the hierarchy that has the cpu controller (v1), else the v2 one. */
async function cpuFolder(parent: string): Promise<string> {
  const folders = await foldersOf(parent);
  const cpu = folders.find((f) => /\/cpu(,[^/]*)?\//.test(f)) ?? folders[0];
  if (cpu === undefined) throw new Error(`no folder of the cgroup ${parent}`);
  return cpu;
}

if (cannotRun !== null && !process.env.CI) {
  it.skip(`the background build's cgroup (skipped: ${cannotRun})`, () => {});
} else {
  describe("the background build's cgroup", () => {
    it('has the lowest CPU weight, holds processes in folders under it as docker makes them, and is removed whole', async () => {
      if (cannotRun !== null) throw new Error(`the cgroup test runs in CI (it cannot here: ${cannotRun})`);
      const cgroup = await makeBackgroundCgroup();
      if (typeof cgroup === 'string') throw new Error(cgroup);
      const folder = await cpuFolder(cgroup.parent);
      const weight = existsSync(join(folder, 'cpu.shares')) ? await readFile(join(folder, 'cpu.shares'), 'utf8') : await readFile(join(folder, 'cpu.weight'), 'utf8');
      expect(['2', '1']).toContain(weight.trim());
      // A container's folder under it, with a process in it, as docker's cgroupfs driver makes one.
      const container = join(folder, 'container');
      await mkdir(container);
      const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
      await writeFile(join(container, 'cgroup.procs'), String(sleeper.pid));
      expect((await readFile(join(container, 'cgroup.procs'), 'utf8')).trim()).toBe(String(sleeper.pid));
      // Not removable while it holds a process: said, not ignored.
      await expect(cgroup.remove()).rejects.toThrow(/cannot remove the cgroup/);
      sleeper.kill('SIGKILL');
      await waitFor(async () => (await readFile(join(container, 'cgroup.procs'), 'utf8')).trim() === '', { timeout: 5000, what: 'the sleeper gone from the cgroup' });
      await cgroup.remove();
      expect(await foldersOf(cgroup.parent)).toEqual([]);
    });

    it('and what a run killed before its teardown left, its folders and its cgroup, are removed by the next run', async () => {
      if (cannotRun !== null) throw new Error(`the cgroup test runs in CI (it cannot here: ${cannotRun})`);
      const owner = deadPid();
      const cgroup = await makeBackgroundCgroup(owner);
      if (typeof cgroup === 'string') throw new Error(cgroup);
      const left = [join(ENGINES_DIR, `${owner}-prepare`), join(ENGINES_DIR, `${owner}-image`)];
      for (const dir of left) {
        await mkdir(join(dir, 'inside'), { recursive: true });
        await writeFile(join(dir, 'inside', 'file'), 'left behind');
      }
      // One of a live process (this one) stays.
      const mine = join(ENGINES_DIR, `${process.pid}-prepare`);
      await mkdir(mine, { recursive: true });
      try {
        const reaped = await reapStaleEngines();
        expect(reaped).toEqual(expect.arrayContaining(left));
        expect(reaped).not.toContain(mine);
        for (const dir of left) expect(existsSync(dir), dir).toBe(false);
        expect(await foldersOf(cgroup.parent)).toEqual([]);
        expect(existsSync(mine)).toBe(true);
      } finally {
        await cgroup.remove();
        await rm(mine, { recursive: true, force: true });
      }
    });
  });
}
