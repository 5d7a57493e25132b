/**
 * Shares in the runtime's draining handler table. Each configured share is an entry `share:NAME`
 * and the private folders are one entry `home`; a request takes a lease on the entry it uses (two
 * for a COPY or MOVE across shares) and gives it back when its response is done. A reload replaces
 * only the entries whose definition changed and deletes removed ones: running transfers finish on
 * the definition they started with, new requests see the new one (a removed share answers 404).
 */
import { statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { Logger } from '@hearth/log';
import type { HandlerTable, Lease } from '@hearth/runtime';
import type { FilesSettings, ShareSettings } from './config.js';
import { canHaveHome } from './homes.js';
import { DavError } from './replies.js';
import type { FileUser } from './users.js';

export type Access = 'none' | 'read' | 'write';

/** What a request works in: a folder on disk and the rules for it. */
export interface Share {
  /** The first URL segment: the share's name, or `home`. */
  readonly name: string;
  /** Absolute folder path. */
  readonly root: string;
  readonly refuseAppleFiles: boolean;
  /** Bytes allowed in this folder (a home folder, or a share with `quota`); 0 = no limit. */
  readonly quota: number;
  /** The user whose home this is. */
  readonly owner: string | undefined;
  readonly access: Access;
}

interface ShareEntry {
  readonly kind: 'share';
  /** Its key in the handler table (`share:NAME`). */
  readonly key: string;
  readonly name: string;
  readonly settings: ShareSettings;
  readonly root: string;
}

interface HomeEntry {
  readonly kind: 'home';
  readonly key: 'home';
  readonly base: string;
  readonly quota: number;
  readonly refuseAppleFiles: boolean;
}

type Entry = ShareEntry | HomeEntry;

export interface Acquired {
  readonly share: Share;
  readonly release: () => void;
}

function accessOf(entry: ShareEntry, user: FileUser): Access {
  const matches = (list: readonly string[]): boolean =>
    list.some((p) => p === '*' || p === user.name || (p.startsWith('@') && user.groups.includes(p.slice(1))));
  if (matches(entry.settings.write)) return 'write';
  if (matches(entry.settings.read)) return 'read';
  return 'none';
}

export class Shares {
  /** Home folders made (or found) by this instance: root → the `createdAt` of the account it was made for. */
  readonly #homes = new Map<string, number | undefined>();
  /** The definitions of the last `apply`, for requests that arrive while the table drains. */
  #applied = new Map<string, Entry>();

  /**
   * `onHomeMade`: called once a home folder was made for an account, before its request goes on: the
   * server's cache forgets what it held, which may be the files of the folder a deleted user had.
   */
  constructor(
    private readonly table: HandlerTable<unknown>,
    private readonly dataDir: string,
    private readonly log: Logger,
    private readonly onHomeMade: () => void = () => {},
  ) {}

  /**
   * Make the table match `settings`: add, replace changed, delete removed. A share whose folder is
   * missing (or is no folder) is kept, and its requests get 404 until the folder is made: each
   * apply (start and every reload) logs a warning naming it and its path.
   */
  apply(settings: FilesSettings): void {
    const wanted = new Map<string, Entry>();
    for (const [name, s] of Object.entries(settings.shares)) {
      const root = isAbsolute(s.path) ? resolve(s.path) : resolve(this.dataDir, s.path);
      const key = `share:${name}`;
      wanted.set(key, { kind: 'share', key, name, settings: s, root });
      this.#warnIfNoFolder(name, root);
    }
    if (settings.home.enabled) {
      wanted.set('home', {
        kind: 'home',
        key: 'home',
        base: join(this.dataDir, 'files', 'home'),
        quota: settings.home.quota,
        refuseAppleFiles: settings.home.refuseAppleFiles,
      });
    }
    this.#applied = wanted;
    for (const key of this.table.keys()) {
      if ((key.startsWith('share:') || key === 'home') && !wanted.has(key)) this.table.delete(key);
    }
    for (const [key, entry] of wanted) {
      const old = this.table.peek(key);
      if (old === undefined || JSON.stringify(old) !== JSON.stringify(entry)) this.table.set(key, entry);
    }
  }

  #warnIfNoFolder(name: string, root: string): void {
    try {
      if (!statSync(root).isDirectory()) this.log.warn({ share: name, path: root }, 'the path of a share is not a folder: its requests get 404');
    } catch (err) {
      this.log.warn({ share: name, path: root, code: (err as NodeJS.ErrnoException).code }, 'the folder of a share cannot be found: its requests get 404 until it exists');
    }
  }

  /** Names of the shares `user` may see at `/` (`home` first when enabled). */
  visible(user: FileUser): string[] {
    const names: string[] = [];
    if (this.table.has('home')) names.push('home');
    for (const key of this.table.keys()) {
      if (!key.startsWith('share:')) continue;
      const entry = this.table.peek(key) as ShareEntry;
      if (accessOf(entry, user) !== 'none') names.push(entry.name);
    }
    return names;
  }

  /**
   * Share `name` as the handler table's active entry defines it, when `user` may read it; no lease
   * is taken (for an answer made at once, `cached-get.ts`). Undefined when there is no such share,
   * no right, the table is closed (draining), or it is a home folder not yet created. While
   * `version` stays the same, the same user gets the same share.
   */
  readable(name: string, user: FileUser): Share | undefined {
    if (this.table.closed) return undefined;
    const entry = this.table.peek(name === 'home' ? 'home' : `share:${name}`) as Entry | undefined;
    if (entry === undefined) return undefined;
    const share = this.#shareFor(entry, user);
    return share instanceof DavError || (entry.kind === 'home' && !this.#madeFor(share.root, user)) ? undefined : share;
  }

  /** Changes whenever a share's definition does, and when the table closes (`HandlerTable.version`). */
  get version(): number {
    return this.table.version;
  }

  /** Take a lease on share `name` for `user`; 404 when there is none, 403 without rights. */
  async acquire(name: string, user: FileUser): Promise<Acquired> {
    const key = name === 'home' ? 'home' : `share:${name}`;
    const got = this.table.acquire(key);
    if (!got.ok) {
      // Draining: the table hands out no more leases, but a request on a connection this instance
      // accepted before is still answered, on the definitions it had (the server's own drain waits
      // for it; its response closes the connection).
      const applied = got.reason === 'closed' ? this.#applied.get(key) : undefined;
      if (applied === undefined) throw new DavError(404, `no share named "${name}"`);
      return { share: await this.#shareOf(applied, user), release: () => {} };
    }
    const lease = got.lease as Lease<Entry>;
    try {
      const share = await this.#shareOf(lease.value, user);
      return { share, release: () => lease.release() };
    } catch (err) {
      lease.release();
      throw err;
    }
  }

  /** What `entry` is to `user`, or why they may not use it. */
  #shareFor(entry: Entry, user: FileUser): Share | DavError {
    if (entry.kind === 'home') {
      if (!canHaveHome(user.name)) return new DavError(403, 'this user name cannot have a home folder');
      return { name: 'home', root: join(entry.base, user.name), refuseAppleFiles: entry.refuseAppleFiles, quota: entry.quota, owner: user.name, access: 'write' };
    }
    const access = accessOf(entry, user);
    if (access === 'none') return new DavError(403, `${user.name} may not use share "${entry.name}"`);
    return { name: entry.name, root: entry.root, refuseAppleFiles: entry.settings.refuseAppleFiles, quota: entry.settings.quota, owner: undefined, access };
  }

  /** `#shareFor`, with the home folder created on the account's first use. */
  async #shareOf(entry: Entry, user: FileUser): Promise<Share> {
    const share = this.#shareFor(entry, user);
    if (share instanceof DavError) throw share;
    if (entry.kind === 'home' && !this.#madeFor(share.root, user)) {
      await mkdir(share.root, { recursive: true, mode: 0o700 });
      this.#homes.set(share.root, user.createdAt);
      this.onHomeMade();
    }
    return share;
  }

  /**
   * Whether the home folder `root` was made for this account: a user deleted and made again under
   * the name is another account, whose folder the deletion removed (`homes.ts`).
   */
  #madeFor(root: string, user: FileUser): boolean {
    return this.#homes.has(root) && this.#homes.get(root) === user.createdAt;
  }
}
