/**
 * One request's context: who asks, what the URL names (the virtual root `/` or a path in a share,
 * under a lease on that share), and the checks shared by the method handlers: the `If` header, lock
 * tokens, write access and the names a share refuses.
 */
import type { Stats } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@hearth/log';
import type { SpaceReserve } from '@hearth/sqlite';
import type { FilesSettings } from './config.js';
import type { DeadProps } from './dead-props.js';
import type { FileCache } from './file-cache.js';
import type { KeptResponses } from './kept-responses.js';
import { evaluateIf, parseIf, submittedTokens, type IfList } from './if-header.js';
import type { Lock, LockTable } from './locks.js';
import { hrefOf, parsePath, pathOfUrl, utf8Header, xmlHref } from './paths.js';
import type { Quotas } from './quota.js';
import { DavError } from './replies.js';
import { etagOf, isAppleFile, isProbeName, isTempName, type Located } from './resource.js';
import type { Share, Shares } from './shares.js';
import type { FileUser } from './users.js';

/** What every request of one server shares. */
export interface Env {
  readonly settings: () => FilesSettings;
  readonly locks: LockTable;
  readonly props: DeadProps;
  readonly shares: Shares;
  readonly quotas: Quotas;
  readonly log: Logger;
  /** Lookups and small files, cleared by every request that changes anything. */
  readonly cache: FileCache;
  /** Listed members' PROPFIND responses, sent again while their stats are unchanged. */
  readonly kept: KeptResponses;
  /**
   * Room kept back on the data directory's disk (`DATA/files/reserve`) for the bookkeeping that
   * follows a deletion or ends something: a DELETE's properties, locks and quota count, an
   * UNLOCK, the properties and locks of what a COPY or MOVE replaces and the locks a MOVE leaves
   * behind, the quota count after an upload or a COPY or MOVE, an upload's released reservation.
   */
  readonly reserve: SpaceReserve;
}

export interface RootTarget {
  readonly kind: 'root';
  readonly href: '/';
}

export interface FsTarget {
  readonly kind: 'fs';
  readonly share: Share;
  /** Names below the share's folder, as the folders spell them (`Located.names`). */
  readonly names: readonly string[];
  /** Absolute file path. */
  readonly path: string;
  readonly stat: Stats | undefined;
  readonly parentOk: boolean;
  /** Encoded href; collections end in `/`. */
  readonly href: string;
  /** The href of the parent collection. */
  readonly parentHref: string;
  /** The URL ended in `/`. */
  readonly slash: boolean;
}

export type Target = RootTarget | FsTarget;

export function exists(t: FsTarget): t is FsTarget & { stat: Stats } {
  return t.stat !== undefined;
}

export function isCollection(t: FsTarget): boolean {
  return t.stat?.isDirectory() === true;
}

export class RequestContext {
  readonly #releases: Array<() => void> = [];
  #ifLists: IfList[] | undefined | null = null;

  constructor(
    readonly env: Env,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly user: FileUser,
    readonly secure: boolean,
    readonly log: Logger,
  ) {}

  get settings(): FilesSettings {
    return this.env.settings();
  }

  header(name: string): string | undefined {
    const v = this.req.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  }

  /** Resolve a URL path (taking a lease on its share until the request ends). */
  async resolve(rawPath: string): Promise<Target> {
    const { segments, trailingSlash } = parsePath(rawPath, this.settings);
    const [shareName, ...names] = segments;
    if (shareName === undefined) return { kind: 'root', href: '/' };
    const acquired = await this.env.shares.acquire(shareName, this.user);
    this.#releases.push(acquired.release);
    const last = names[names.length - 1];
    if (last !== undefined && (isTempName(last) || isProbeName(last) || (acquired.share.refuseAppleFiles && isAppleFile(last)))) {
      // Never on disk (or not served): answer at once without touching the disk.
      return this.#fsTarget(acquired.share, shareName, names, { path: '', names, stat: undefined, parentOk: true }, trailingSlash);
    }
    const located = await this.env.cache.locate(acquired.share.root, names);
    // A URL ending in `/` names a collection: on a file it names nothing, whatever the method (as
    // Apache and nginx answer), and nothing is changed through it.
    if (trailingSlash && located.stat !== undefined && !located.stat.isDirectory()) throw new DavError(404, 'not found: the URL ends in / but names a file, not a collection');
    return this.#fsTarget(acquired.share, shareName, names, located, trailingSlash);
  }

  /** `names`: as the request named them (the hrefs); the target's are as the folders spell them (`Located`). */
  #fsTarget(share: Share, shareName: string, names: readonly string[], located: Located, slash: boolean): FsTarget {
    const segs = [shareName, ...names];
    const dir = located.stat?.isDirectory() ?? slash;
    return {
      kind: 'fs',
      share,
      names: located.names,
      path: located.path,
      stat: located.stat,
      parentOk: located.parentOk,
      href: hrefOf(segs, dir || names.length === 0),
      parentHref: hrefOf(segs.slice(0, -1), true),
      slash,
    };
  }

  /** The request target. */
  target(): Promise<Target> {
    return this.resolve(this.req.url ?? '/');
  }

  /** The Destination header as a target (COPY, MOVE): 400 when missing, 502 for another host. */
  async destination(): Promise<FsTarget> {
    const raw = this.header('destination');
    if (raw === undefined) throw new DavError(400, 'Destination header missing');
    const { path, sameHost } = pathOfUrl(utf8Header(raw, 'Destination'), this.header('host'));
    if (!sameHost) throw new DavError(502, 'Destination is on another server');
    const target = await this.resolve(path);
    if (target.kind === 'root') throw new DavError(403, 'the root cannot be a destination');
    return target;
  }

  /** Refuse writes: no write access, or a name the share keeps out. */
  writable(t: Target): FsTarget {
    if (t.kind === 'root') throw new DavError(403, 'the root lists shares and cannot be changed');
    if (t.names.length === 0) throw new DavError(403, 'a share itself cannot be changed, only what is in it');
    if (t.share.access !== 'write') throw new DavError(403, `${this.user.name} may only read share "${t.share.name}"`);
    const last = t.names[t.names.length - 1]!;
    if (isTempName(last)) throw new DavError(403, 'this name is reserved by the server');
    if (t.share.refuseAppleFiles && isAppleFile(last)) throw new DavError(403, 'this share does not store macOS metadata files');
    if (isProbeName(last)) throw new DavError(403, 'this name is reserved');
    return t;
  }

  #ifHeader(): IfList[] | undefined {
    if (this.#ifLists === null) {
      const raw = this.header('if');
      // Its resource tags are URLs, which a client may send unencoded as a Destination.
      this.#ifLists = raw === undefined ? undefined : parseIf(utf8Header(raw, 'If'));
    }
    return this.#ifLists;
  }

  /** Lock tokens the request submits (every state token of its If header). */
  tokens(): Set<string> {
    const lists = this.#ifHeader();
    return lists === undefined ? new Set() : submittedTokens(lists);
  }

  /** Evaluate the If header (412 when false). */
  async checkIf(target: Target): Promise<void> {
    const lists = this.#ifHeader();
    if (lists === undefined) return;
    const ok = await evaluateIf(lists, async (resource) => {
      let t: Target = target;
      if (resource !== undefined) {
        try {
          t = await this.resolve(pathOfUrl(resource, this.header('host')).path);
        } catch {
          return { etag: undefined, hasLock: () => false };
        }
      }
      if (t.kind === 'root') return { etag: undefined, hasLock: () => false };
      const covering = this.env.locks.covering(t.path);
      return {
        etag: t.stat ? etagOf(t.stat) : undefined,
        hasLock: (token) => covering.some((l) => l.token === token),
      };
    });
    if (!ok) throw new DavError(412, 'the If header does not hold');
  }

  /**
   * 423 unless the request submits a token for every lock that protects the change: locks covering
   * `t`, locks below it when `tree`, and a lock on its parent when its membership changes (`member`).
   */
  checkLocks(t: FsTarget, options: { tree?: boolean; member?: boolean }): void {
    const locks = this.env.locks;
    const blocking: Lock[] = [...locks.covering(t.path)];
    if (options.tree === true) blocking.push(...locks.inside(t.path));
    if (options.member === true && t.names.length > 0) {
      const parent = t.path.slice(0, t.path.lastIndexOf('/'));
      for (const l of locks.at(parent)) if (l.depth === '0') blocking.push(l);
    }
    if (blocking.length === 0) return;
    const tokens = this.tokens();
    const held = (l: Lock): boolean => tokens.has(l.token) && l.user === this.user.name;
    // Shared locks on the same root: any one of them will do.
    const missing = blocking.filter((l) => !held(l) && !(l.scope === 'shared' && blocking.some((o) => o !== l && o.path === l.path && o.scope === 'shared' && held(o))));
    if (missing.length === 0) return;
    throw new DavError(423, 'the resource is locked', 'lock-token-submitted', `<D:href>${xmlHref(missing[0]!.href)}</D:href>`);
  }

  /** Give back the share leases (at the end of the response). */
  release(): void {
    for (const r of this.#releases.splice(0)) r();
  }
}
