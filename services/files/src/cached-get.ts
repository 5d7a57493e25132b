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
 */
import type { IncomingMessage } from 'node:http';
import type { Env } from './context.js';
import { fileHeaders } from './methods/get.js';
import { parsePath } from './paths.js';
import { isAppleFile, isProbeName, isTempName } from './resource.js';
import type { Authenticator, FileUser } from './users.js';

export interface CachedAnswer {
  readonly user: FileUser;
  readonly headers: Readonly<Record<string, string | number>>;
  /** The file's bytes (for a GET; a HEAD sends none). */
  readonly body: Buffer;
}

/** Headers after which the answer is not simply the file: the full way handles them. */
const DEPENDENT = ['range', 'if-range', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since', 'if', 'expect'] as const;

export function cachedAnswer(env: Env, auth: Authenticator, req: IncomingMessage): CachedAnswer | undefined {
  const user = auth.verified(req);
  if (user === undefined) return undefined;
  const headers = req.headers;
  for (const name of DEPENDENT) if (headers[name] !== undefined) return undefined;
  let segments: readonly string[];
  try {
    const parsed = parsePath(req.url ?? '/', env.settings());
    if (parsed.trailingSlash) return undefined;
    segments = parsed.segments;
  } catch {
    return undefined;
  }
  if (segments.length < 2) return undefined;
  const share = env.shares.readable(segments[0]!, user);
  if (share === undefined) return undefined;
  const names = segments.slice(1);
  const name = names[names.length - 1]!;
  if (isTempName(name) || isProbeName(name) || (share.refuseAppleFiles && isAppleFile(name))) return undefined;
  const file = env.cache.whole(share.root, names);
  if (file === undefined) return undefined;
  return { user, headers: fileHeaders(file.stat, name), body: file.body };
}
