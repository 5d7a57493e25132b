/**
 * The answer to a GET or HEAD of a small file the cache holds whole, found without waiting for
 * anything. A request qualifies only when each step of the full way (`server.ts` and
 * `methods/get.ts`) would be a lookup in memory:
 * - its connection's credentials were verified within the last second (`users.ts`);
 * - its path parses (`paths.ts`) to a file in a share this user may read, whose definition is the
 *   handler table's active one (not while the table drains), and not a name the full way answers
 *   without the disk (temporaries, macOS probes, refused Apple files);
 * - the file cache holds that file's lookup, still trusted, and its whole content;
 * - it sends no header that makes the answer depend on more: Range, If-Range, the conditionals
 *   (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since, the DAV If header), Expect.
 * Then the answer is the full way's, from the same cache entry and the same header builder:
 * 200 with the file's headers (and, for GET, its bytes). Anything else gives undefined, having
 * changed nothing, and the request goes the full way. The full way runs its steps as promises (an
 * await for each), which for a 4 KB file cost more than the whole answer (bench/files).
 *
 * What a request target was answered with is kept for the next request of the same target
 * (`Prepared`) and given again, without parsing the path, looking up the share and the cache
 * entry, while everything it came from is unchanged: the same user (name and groups), no share's
 * definition changed (`Shares.version`), no cache entry gone since (`FileCache.version`), the
 * cache's trust in the lookup not over nor a renewal of it due (`HeldFile.recheck`), and no new
 * settings (`forget`). Its headers are kept as the lists the response is written with.
 */
import type { IncomingMessage } from 'node:http';
import type { Env } from './context.js';
import type { FileCache } from './file-cache.js';
import { fileHeaders } from './methods/get.js';
import { parsePath } from './paths.js';
import { isAppleFile, isProbeName, isTempName } from './resource.js';
import { headerLists, keepAliveHint, type HeaderLists } from './replies.js';
import type { Shares } from './shares.js';
import type { Authenticator, FileUser } from './users.js';

export interface CachedAnswer {
  /** The name of the user it was made for. */
  readonly user: string;
  readonly headers: HeaderLists;
  /** The file's bytes (for a GET; a HEAD sends none). */
  readonly body: Buffer;
}

/** An answer made for a request target, and what it depends on. */
interface Prepared {
  readonly answer: CachedAnswer;
  readonly groups: readonly string[];
  /** `Shares.version` when it was made. */
  readonly shares: number;
  /** From when the cache must be asked again (`HeldFile.recheck`). */
  readonly recheck: number;
}

/**
 * The request's Authorization header, when it has one and none of the headers after which the
 * answer is not simply the file (Range, If-Range, the conditionals, the DAV If header, Expect: the
 * full way handles them); otherwise undefined. Read from the raw header list in one pass: from Node
 * 24 on, a server that never reads `req.headers` never has the object built (Node reads the few
 * headers it needs from the raw list too), and building it costs an answer made at once more than
 * all of its own checks (bench/files). The first Authorization counts, as in `req.headers`.
 */
function plainRequestCredentials(req: IncomingMessage): string | undefined {
  const raw = req.rawHeaders;
  let authorization: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 13 && isHeader(name, 'Authorization', 'authorization')) {
      authorization ??= raw[i + 1];
      continue;
    }
    const others = NOT_PLAIN_BY_LENGTH[name.length];
    if (others !== undefined) for (const [canonical, lower] of others) if (isHeader(name, canonical, lower)) return undefined;
  }
  return authorization;
}

/** The headers after which an answer is not simply the file, by the length of their names: each as usually spelt, and in lower case. */
const NOT_PLAIN_BY_LENGTH: ReadonlyArray<ReadonlyArray<readonly [string, string]> | undefined> = (() => {
  const byLength: Array<Array<readonly [string, string]>> = [];
  for (const name of ['If', 'Range', 'Expect', 'If-Range', 'If-Match', 'If-None-Match', 'If-Modified-Since', 'If-Unmodified-Since']) {
    (byLength[name.length] ??= []).push([name, name.toLowerCase()]);
  }
  return byLength;
})();

/**
 * Whether the header name `name` is the one spelt `canonical` and `lower` (of its length), ASCII
 * letters compared in either case. The two usual spellings are compared whole first: a loop over
 * the letters costs several times as much.
 */
function isHeader(name: string, canonical: string, lower: string): boolean {
  if (name === canonical || name === lower) return true;
  for (let i = 0; i < lower.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** Request targets whose answers are kept; past this, all are forgotten and made again. */
const MAX_PREPARED = 1024;

export class CachedAnswers {
  readonly #prepared = new Map<string, Prepared>();
  /** The file cache's version the kept answers were made at. */
  #cacheVersion = -1;
  readonly #shares: Shares;
  readonly #cache: FileCache;

  constructor(
    private readonly env: Env,
    private readonly auth: Authenticator,
  ) {
    this.#shares = env.shares;
    this.#cache = env.cache;
  }

  /** `now`: `Date.now()`, read once by the caller for all of the request's checks. */
  answer(req: IncomingMessage, now: number): CachedAnswer | undefined {
    const authorization = plainRequestCredentials(req);
    if (authorization === undefined) return undefined;
    const user = this.auth.verified(req.socket, authorization, now);
    if (user === undefined) return undefined;
    const target = req.url ?? '/';
    const version = this.#cache.version;
    if (version !== this.#cacheVersion) {
      this.#prepared.clear();
      this.#cacheVersion = version;
    }
    const kept = this.#prepared.get(target);
    if (kept !== undefined && kept.answer.user === user.name && sameGroups(kept.groups, user.groups) && now < kept.recheck && kept.shares === this.#shares.version) {
      return kept.answer;
    }
    const made = this.#make(target, user, now);
    if (made === undefined) return undefined;
    if (this.#prepared.size >= MAX_PREPARED) this.#prepared.clear();
    this.#prepared.set(target, made);
    return made.answer;
  }

  /** New settings (path limits, shares, access): nothing kept is given again. */
  forget(): void {
    this.#prepared.clear();
  }

  #make(target: string, user: FileUser, now: number): Prepared | undefined {
    let segments: readonly string[];
    try {
      const parsed = parsePath(target, this.env.settings());
      if (parsed.trailingSlash) return undefined;
      segments = parsed.segments;
    } catch {
      return undefined;
    }
    if (segments.length < 2) return undefined;
    const shares = this.#shares.version;
    const share = this.#shares.readable(segments[0]!, user);
    if (share === undefined) return undefined;
    const names = segments.slice(1);
    const name = names[names.length - 1]!;
    if (isTempName(name) || isProbeName(name) || (share.refuseAppleFiles && isAppleFile(name))) return undefined;
    const file = this.#cache.whole(share.root, names, now);
    if (file === undefined) return undefined;
    return {
      answer: { user: user.name, headers: headerLists(fileHeaders(file.stat, name), keepAliveHint(this.env.settings().keepAliveTimeout)), body: file.body },
      groups: user.groups,
      shares,
      recheck: file.recheck,
    };
  }
}

function sameGroups(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
