/**
 * What `hearth status` reports as a service's memory: the resident set of its process group (the
 * service's process and whatever it started, as systemd counts a unit's cgroup), read from /proc
 * without blocking the supervisor's event loop (asynchronous reads; a `status` file only for the
 * processes of the groups asked about). Elsewhere than Linux, or for a process gone meanwhile, the
 * answer is null. A child in the legacy shared group (not a group leader) counts alone.
 */
import { readdir, readFile } from 'node:fs/promises';

export class MemorySnapshot {
  private constructor(
    readonly byPid: ReadonlyMap<number, number>,
    readonly byGroup: ReadonlyMap<number, number>,
  ) {}

  /** Resident bytes of every process in the groups led by `pids` (and of `pids` themselves). */
  static async take(pids: readonly number[], proc = '/proc'): Promise<MemorySnapshot> {
    const byPid = new Map<number, number>();
    const byGroup = new Map<number, number>();
    const wanted = new Set(pids);
    let entries: string[] = [];
    if (wanted.size > 0) {
      try {
        entries = (await readdir(proc)).filter((e) => /^\d+$/.test(e));
      } catch {
        // no /proc: every answer is null
      }
    }
    await Promise.all(
      entries.map(async (entry) => {
        const pid = Number(entry);
        try {
          const stat = await readFile(`${proc}/${entry}/stat`, 'utf8');
          // Fields after the parenthesised name: state, ppid, pgrp, ...
          const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
          if (!wanted.has(pgrp) && !wanted.has(pid)) return;
          const rss = /^VmRSS:\s+(\d+) kB$/m.exec(await readFile(`${proc}/${entry}/status`, 'utf8'));
          if (!rss) return; // a zombie
          const bytes = Number(rss[1]) * 1024;
          byPid.set(pid, bytes);
          if (wanted.has(pgrp)) byGroup.set(pgrp, (byGroup.get(pgrp) ?? 0) + bytes);
        } catch {
          // gone between the listing and the read
        }
      }),
    );
    return new MemorySnapshot(byPid, byGroup);
  }

  /** The resident bytes of `pid`'s group if it leads one, else of `pid` alone; null if unknown. */
  of(pid: number | null): number | null {
    if (pid === null) return null;
    const own = this.byPid.get(pid);
    if (own === undefined) return null;
    return this.byGroup.get(pid) ?? own;
  }
}
