/**
 * A cgroup of the lowest CPU weight for an engine whose image build runs while the suite's tests
 * run (`prepare.ts`): the private dockerd puts its containers (the build's RUN steps) under it
 * (`--cgroup-parent`), so they take only the CPU time the tests leave. `nice` alone would not do:
 * a container's processes sit in a cgroup of their own, which the scheduler weighs against the
 * tests' processes at the default weight, whatever their nice value.
 *
 * cgroup v1: `cpu.shares` 2 (the least) in the `cpu` hierarchy; docker makes the same folder in
 * the other hierarchies (and in a hybrid system's v2 tree) for its containers. cgroup v2:
 * `cpu.weight` 1 (the least), where the root's `cgroup.subtree_control` has `cpu`.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface BackgroundCgroup {
  /** For dockerd's `--cgroup-parent` (cgroupfs driver): `/NAME`. */
  readonly parent: string;
  /** Removes it and what docker made for it (empty once the engine's containers are gone). */
  remove(): Promise<void>;
}

interface CgroupMount {
  readonly path: string;
  readonly version: 1 | 2;
  /** v1: the controllers of this hierarchy (`cpu`, `cpuacct`, `name=systemd`, ...). */
  readonly controllers: readonly string[];
}

/** The cgroup file systems mounted in this process's view (/proc/self/mountinfo). */
async function cgroupMounts(): Promise<CgroupMount[]> {
  const mounts: CgroupMount[] = [];
  for (const line of (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
    const [before, after] = line.split(' - ');
    if (before === undefined || after === undefined) continue;
    const path = before.split(' ')[4];
    const [fstype, , superOptions = ''] = after.split(' ');
    if (path === undefined) continue;
    if (fstype === 'cgroup2') mounts.push({ path, version: 2, controllers: [] });
    else if (fstype === 'cgroup') mounts.push({ path, version: 1, controllers: superOptions.split(',') });
  }
  return mounts;
}

/** The cgroup of the engine that process `owner` runs in the background. */
function cgroupName(owner: number): string {
  return `hearth-container-test-${owner}`;
}

/**
 * Makes the cgroup of process `owner` (`hearth-container-test-PID`, this process's by default) at
 * the top of the CPU controller's hierarchy with the lowest weight. Returns why it cannot (no
 * writable CPU controller here), for the caller to say and do without.
 */
export async function makeBackgroundCgroup(owner = process.pid): Promise<BackgroundCgroup | string> {
  const name = cgroupName(owner);
  const mounts = await cgroupMounts();
  const v1 = mounts.find((m) => m.version === 1 && m.controllers.includes('cpu'));
  const v2 = mounts.find((m) => m.version === 2);
  try {
    if (v1 !== undefined) {
      await mkdir(join(v1.path, name));
      await writeFile(join(v1.path, name, 'cpu.shares'), '2');
    } else if (v2 !== undefined) {
      const controllers = (await readFile(join(v2.path, 'cgroup.subtree_control'), 'utf8')).split(/\s+/);
      if (!controllers.includes('cpu')) return `the cgroup v2 root at ${v2.path} does not delegate the cpu controller`;
      await mkdir(join(v2.path, name));
      await writeFile(join(v2.path, name, 'cpu.weight'), '1');
    } else {
      return 'no cgroup file system with the cpu controller is mounted';
    }
  } catch (err) {
    await removeBackgroundCgroup(owner).catch(() => undefined);
    return `cannot make the cgroup ${name}: ${(err as Error).message}`;
  }
  return { parent: `/${name}`, remove: () => removeBackgroundCgroup(owner) };
}

/**
 * Removes the background cgroup of process `owner` wherever it is: docker makes it in every
 * hierarchy, v1 and v2 (a hybrid system's `unified`), for its containers. Also for a run that
 * was killed.
 */
export async function removeBackgroundCgroup(owner: number): Promise<void> {
  for (const folder of await foldersOf(`/${cgroupName(owner)}`)) await removeTree(folder);
}

/** The folders of the cgroup `parent` (a `BackgroundCgroup`'s) that exist, in every hierarchy. */
export async function foldersOf(parent: string): Promise<string[]> {
  const found: string[] = [];
  for (const mount of await cgroupMounts()) {
    const folder = join(mount.path, parent);
    if (existsSync(folder)) found.push(folder);
  }
  return found;
}

/** rmdir of a cgroup folder and the folders under it, deepest first; one already gone is fine. */
async function removeTree(folder: string): Promise<void> {
  const entries = await readdir(folder, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (entries === null) return;
  for (const entry of entries) if (entry.isDirectory()) await removeTree(join(folder, entry.name));
  await rmdir(folder).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw new Error(`cannot remove the cgroup ${folder}: ${err.message}`);
  });
}
