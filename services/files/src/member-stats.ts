/**
 * The members of an open folder as listings walk them (PROPFIND in `methods/propfind.ts`, the HTML
 * listing in `html.ts`): names in the folder's order, a batch at a time, with their stats made on
 * the main thread while the page cache answers, through the thread pool once it does not.
 */
import { lstat as fsLstat, lstatSync, type Stats } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { listableName } from './paths.js';
import { closeDirQuick, opendirQuick } from './quick-calls.js';
import { isTempName, listable } from './resource.js';

/** Members stated together: a batch holds the event loop for about 1 ms. */
const BATCH = 256;

/** Names read from the folder 1,024 at a time. */
const DIR_OPTIONS = { bufferSize: 1024 } as const;

/**
 * The members of the folder open at `openPath` (a /proc/self/fd path, checked inside the share at
 * `root`), `BATCH` at a time: their names and, at the same index, their stats, undefined for those
 * not to be listed (gone meanwhile, neither file nor folder, a link out of the share). Upload
 * temporaries and names no request can reach (`listableName`) are left out. The folder is closed
 * when the walk ends or is abandoned.
 */
export async function* folderMembers(root: string, openPath: string): AsyncGenerator<[string[], Array<Stats | undefined>]> {
  const stater = new MemberStats();
  const dir = await opendirQuick(openPath, DIR_OPTIONS);
  try {
    let names: string[] = [];
    for (;;) {
      // Names come from the folder's buffer as the stats do: at once while the disk answers fast.
      const entry = stater.fast ? dir.readSync() : await dir.read();
      if (entry === null) break;
      if (isTempName(entry.name) || !listableName(entry.name)) continue;
      names.push(entry.name);
      if (names.length < BATCH) continue;
      yield [names, await stater.stats(root, openPath, names)];
      names = [];
    }
    if (names.length > 0) yield [names, await stater.stats(root, openPath, names)];
  } finally {
    closeDirQuick(dir);
  }
}

/**
 * A batch of stat calls taking longer than this is not served from the page cache (256 calls take
 * about 1 ms when it is): the rest of the listing goes to the thread pool. Measured over the batch,
 * not per call: a call during which the thread was preempted (another thread of the service, the
 * client, another program on the same cores) takes a few milliseconds of the clock, and counting
 * it as slow sent a whole listing through the thread pool, doubling its time (bench/files).
 */
const SLOW_BATCH_MS = 10;
const LSTAT_OPTIONS = { throwIfNoEntry: false } as const;

/**
 * The members' stats of one listing. While each call answers from the page cache (the usual case)
 * they are made on the main thread, a batch at a time, as nginx and Apache do: a thread-pool round
 * trip per member costs far more than the call itself. Once a batch's calls have taken longer than
 * `SLOW_BATCH_MS` (a cold disk, a network file system) the rest of the listing goes through the
 * thread pool, so the event loop is never held for longer than that and one more call. Links are
 * checked asynchronously.
 *
 * A batch on the main thread is stated relative to the open folder, as fts(3) walks a tree: the
 * process's working directory is the folder itself (`chdir` to `/proc/self/fd/N` is `fchdir(N)`)
 * for the batch, and each member is the single name `name`, not `/proc/self/fd/N/name`, whose walk
 * through /proc costs the kernel about half as much again as the stat itself. Nothing else runs
 * on the main thread meanwhile, and the service uses only absolute paths, so the thread pool's
 * calls during the batch do not depend on the working directory; it is put back before the batch
 * returns. Where a process cannot change its directory (a worker thread) members go by /proc path.
 */
export class MemberStats {
  #sync = true;

  /** `now`: the clock the batches are timed with (milliseconds; another one in tests). */
  constructor(private readonly now: () => number = () => performance.now()) {}

  /** No batch of this listing has been slow yet: its calls are made on the main thread. */
  get fast(): boolean {
    return this.#sync;
  }

  async stats(root: string, folder: string, names: readonly string[]): Promise<Array<Stats | undefined>> {
    const prefix = `${folder}/`;
    if (!this.#sync) return Promise.all(names.map((n) => memberStat(root, prefix + n)));
    const out: Array<Stats | undefined | Promise<Stats | undefined>> = [];
    // Links and slow calls give promises; without them the stats are returned as they are (a
    // Promise.all over plain values makes a promise and a microtask per member).
    let waiting = false;
    const back = inFolder(folder);
    try {
      const started = this.now();
      for (const name of names) {
        if (!this.#sync) {
          out.push(memberStat(root, prefix + name));
          waiting = true;
          continue;
        }
        let st: Stats | undefined;
        try {
          st = lstatSync(back === undefined ? prefix + name : name, LSTAT_OPTIONS);
        } catch {
          st = undefined;
        }
        if (this.now() - started > SLOW_BATCH_MS) this.#sync = false;
        if (st === undefined) out.push(undefined);
        else if (st.isSymbolicLink()) {
          out.push(listable(root, prefix + name, st));
          waiting = true;
        } else out.push(st.isFile() || st.isDirectory() ? st : undefined);
      }
    } finally {
      if (back !== undefined) leaveFolder(back);
    }
    return waiting ? Promise.all(out) : (out as Array<Stats | undefined>);
  }
}

/** Make `folder` the working directory; the one to go back to, or undefined when it cannot change. */
function inFolder(folder: string): string | undefined {
  if (!isMainThread) return undefined;
  let back: string;
  try {
    back = process.cwd();
  } catch {
    // The directory the process started in is gone: come back to the root.
    back = '/';
  }
  process.chdir(folder);
  return back;
}

function leaveFolder(back: string): void {
  try {
    process.chdir(back);
  } catch {
    // The directory we started in is gone: the root always exists.
    process.chdir('/');
  }
}

/** A member's stats, or undefined when it is not to be listed (callback lstat: cheaper than fs/promises). */
function memberStat(root: string, p: string): Promise<Stats | undefined> {
  return new Promise((resolve) => {
    fsLstat(p, (err, st) => {
      if (err) resolve(undefined);
      else if (!st.isSymbolicLink()) resolve(st.isFile() || st.isDirectory() ? st : undefined);
      else resolve(listable(root, p, st));
    });
  });
}
