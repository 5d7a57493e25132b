/**
 * What `hearth status` reports as a service's memory: the resident set of its process group (the
 * service's process and whatever it started, as systemd counts a unit's cgroup), read from /proc.
 * One scan of /proc per status request. Elsewhere than Linux, or for a process gone meanwhile, the
 * answer is null. A child in the legacy shared group (not a group leader) counts alone.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Resident bytes per process group leader, and per pid, from one pass over /proc. */
export class MemorySnapshot {
  readonly #byGroup = new Map<number, number>();
  readonly #byPid = new Map<number, number>();

  static take(proc = '/proc'): MemorySnapshot {
    const snapshot = new MemorySnapshot();
    let entries: string[];
    try {
      entries = readdirSync(proc);
    } catch {
      return snapshot; // no /proc: every answer is null
    }
    for (const entry of entries) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`${proc}/${entry}/stat`, 'utf8');
        // Fields after the parenthesised name: state, ppid, pgrp, ...
        const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
        const rss = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`${proc}/${entry}/status`, 'utf8'));
        if (!rss) continue; // a kernel thread, or a zombie
        const bytes = Number(rss[1]) * 1024;
        snapshot.#byPid.set(Number(entry), bytes);
        snapshot.#byGroup.set(pgrp, (snapshot.#byGroup.get(pgrp) ?? 0) + bytes);
      } catch {
        // gone between the listing and the read
      }
    }
    return snapshot;
  }

  /** The resident bytes of `pid`'s group if it leads one, else of `pid` alone; null if unknown. */
  of(pid: number | null): number | null {
    if (pid === null) return null;
    const own = this.#byPid.get(pid);
    if (own === undefined) return null;
    return this.#byGroup.get(pid) ?? own;
  }
}
