/**
 * PUT (RFC 7231 4.3.4, RFC 4918 9.7): Content-Length or chunked bodies (macOS announces the size of
 * a chunked body in X-Expected-Entity-Length), `Expect: 100-continue` answered only once every
 * check has passed, 409 when the parent is missing, the body written atomically, quota enforced
 * before and while it streams. `X-OC-Mtime` (rclone, ownCloud clients) sets the modification time
 * and is answered `X-OC-Mtime: accepted`.
 */
import { inParent, setTimesInside } from '../anchored.js';
import { BodyLimitError, writeAtomically } from '../atomic-write.js';
import { checkConditions } from '../conditional.js';
import { DavError } from '../replies.js';
import { etagOf, locate } from '../resource.js';
import type { Handler } from './types.js';

function declaredLength(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,16}$/.test(value.trim())) throw new DavError(400, 'bad length header');
  return Number(value.trim());
}

/** Seconds since the epoch, possibly with a fraction. */
function ocMtime(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const s = Number(value.trim());
  if (!Number.isFinite(s) || s < 0) throw new DavError(400, 'bad X-OC-Mtime');
  return new Date(s * 1000);
}

export const put: Handler = async (ctx) => {
  const t = ctx.writable(await ctx.target());
  if (t.stat?.isDirectory() === true) throw new DavError(405, 'PUT on a collection', undefined, undefined, { Allow: 'OPTIONS, GET, HEAD, PROPFIND, PROPPATCH, DELETE, COPY, MOVE, LOCK, UNLOCK' });
  if (!t.parentOk) throw new DavError(409, 'the parent collection does not exist');
  // A URL ending in `/` names a collection, which PUT does not make (MKCOL does): as nginx answers.
  if (t.slash) throw new DavError(409, 'a URL ending in / names a collection: PUT cannot make one (MKCOL makes collections)');
  if (ctx.header('content-range') !== undefined) throw new DavError(400, 'partial PUT (Content-Range) is not supported');
  await ctx.checkIf(t);
  checkConditions(ctx.req.headers, t.stat, false);
  ctx.checkLocks(t, { member: t.stat === undefined });
  const mtime = ocMtime(ctx.header('x-oc-mtime'));
  const declared = declaredLength(ctx.header('content-length')) ?? declaredLength(ctx.header('x-expected-entity-length'));
  const settings = ctx.settings;
  if (declared !== undefined && declared > settings.maxBodySize) throw new DavError(413, `body larger than ${settings.maxBodySize} bytes`, undefined, undefined, { Connection: 'close' });
  const oldSize = t.stat?.size ?? 0;
  const share = t.share;
  let quotaAllows = (_total: number): boolean => true;
  let unreserve = (): void => {};
  if (share.quota > 0) {
    // The declared length (beyond the old file's) is checked and reserved at once, for every
    // instance; a body of undeclared length is reserved as it arrives, a step at a time.
    const reserved = await ctx.env.quotas.reserve(share.root, share.quota, Math.max(0, (declared ?? 0) - oldSize), oldSize);
    if (!reserved.ok) throw new DavError(507, 'quota exceeded', 'quota-not-exceeded', undefined, { Connection: 'close' });
    quotaAllows = (total) => reserved.grow(total - oldSize);
    unreserve = reserved.release;
  }
  if (/100-continue/i.test(ctx.header('expect') ?? '')) ctx.res.writeContinue();
  let written: number;
  try {
    written = await inParent(share.root, t.names, (path) => writeAtomically(ctx.req, path, { maxBytes: settings.maxBodySize, quotaAllows }));
  } catch (err) {
    if (err instanceof BodyLimitError) {
      throw new DavError(err.status, err.message, err.status === 507 ? 'quota-not-exceeded' : undefined, undefined, { Connection: 'close' });
    }
    throw err;
  } finally {
    // Given back on a full disk too (the space reserve): a reservation left behind would keep its
    // room from the folder until this process ends.
    await ctx.env.reserve.freeing(unreserve).catch((err: unknown) => ctx.env.log.warn({ err, share: share.name }, 'an upload reservation could not be released'));
  }
  // The file is stored: its count follows, on a full disk too.
  await ctx.env.reserve.freeing(() => ctx.env.quotas.adjust(share.root, written - oldSize));
  const headers: Record<string, string> = {};
  if (mtime !== undefined) {
    await setTimesInside(share.root, t.path, mtime, mtime);
    headers['X-OC-Mtime'] = 'accepted';
  }
  const after = await locate(share.root, t.names);
  if (after.stat) headers['ETag'] = etagOf(after.stat);
  return { status: t.stat === undefined ? 201 : 204, headers };
};
