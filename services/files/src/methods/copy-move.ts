/**
 * COPY and MOVE (RFC 4918 9.8, 9.9): Depth (COPY 0 or infinity; MOVE of a folder only infinity),
 * Overwrite (412 when F and the destination exists), 201 for a new destination and 204 for a
 * replaced one, 409 without the destination's parent, 502 for another server, 403 when source and
 * destination overlap. Dead properties follow; locks stay behind (a moved resource is unlocked).
 * The destination may be in another share the user may write to; one with a quota gets 507 when
 * what arrives does not fit. A COPY or MOVE the disk has no room for (507) leaves the source as it
 * was and no partial copy.
 */
import { inParent } from '../anchored.js';
import type { FsTarget, RequestContext } from '../context.js';
import { DavError, type Reply } from '../replies.js';
import { realRoot } from '../resource.js';
import { copyTree, moveTree, removeTree, treeBytes } from '../tree.js';
import { parseDepth } from './propfind.js';
import type { Handler } from './types.js';

function overwrite(ctx: RequestContext): boolean {
  const v = (ctx.header('overwrite') ?? 'T').trim().toUpperCase();
  if (v !== 'T' && v !== 'F') throw new DavError(400, 'Overwrite must be T or F');
  return v === 'T';
}

function overlap(a: string, b: string): boolean {
  return a === b || b.startsWith(`${a}/`) || a.startsWith(`${b}/`);
}

async function transfer(ctx: RequestContext, move: boolean): Promise<Reply> {
  const src = await ctx.target();
  if (src.kind === 'root') throw new DavError(403, 'the root cannot be copied or moved');
  if (src.stat === undefined) throw new DavError(404, 'not found');
  if (move) ctx.writable(src);
  const depth = parseDepth(ctx.header('depth'), 'infinity');
  if (depth === '1' || (move && depth === '0' && src.stat.isDirectory())) throw new DavError(400, `Depth ${depth} is not allowed for ${move ? 'MOVE' : 'COPY'}`);
  const replace = overwrite(ctx);
  const dst: FsTarget = ctx.writable(await ctx.destination());
  if (src.path === dst.path) throw new DavError(403, 'source and destination are the same');
  if (src.stat.isDirectory() && overlap(src.path, dst.path)) throw new DavError(403, 'source and destination overlap');
  if (!dst.parentOk) throw new DavError(409, 'the destination\'s parent collection does not exist');
  await ctx.checkIf(src);
  if (move) ctx.checkLocks(src, { tree: true, member: true });
  ctx.checkLocks(dst, { tree: true, member: true });
  const existed = dst.stat !== undefined;
  if (existed && !replace) throw new DavError(412, 'the destination exists and Overwrite is F');
  const { props, locks, quotas } = ctx.env;
  // Into a folder with a quota (a copy, or a move from another folder): 507 before anything changes.
  if (dst.share.quota > 0 && (!move || src.share.root !== dst.share.root)) {
    const needed = src.stat.isDirectory() ? (depth === 'infinity' ? await treeBytes(src.path) : 0) : src.stat.size;
    const freed = existed ? (dst.stat!.isDirectory() ? await treeBytes(dst.path) : dst.stat!.size) : 0;
    if (needed > (await quotas.available(dst.share.root, dst.share.quota)) + freed) throw new DavError(507, 'quota exceeded', 'quota-not-exceeded');
  }
  // Both ends through their parent folders, open and checked inside their shares.
  await inParent(dst.share.root, dst.names, async (dstPath) => {
    if (existed) {
      await removeTree(dstPath);
      // The replaced resource is gone: what was recorded for it goes too, on a full disk too (the
      // space reserve), or the next resource of that name would find it.
      await ctx.env.reserve.freeing(() => props.remove(dst.path));
      await ctx.env.reserve.freeing(() => locks.removeTree(dst.path));
    }
    await fromSource(src, async (srcPath) => {
      if (move) {
        await moveTree(srcPath, dstPath);
        // What the databases cannot record (a full disk) is taken back: the resource returns to
        // where it was, its properties with it.
        try {
          props.move(src.path, dst.path);
        } catch (err) {
          await moveTree(dstPath, srcPath).catch(() => {});
          throw err;
        }
        try {
          // Its locks stay behind and end, on a full disk too (the space reserve).
          await ctx.env.reserve.freeing(() => locks.removeTree(src.path));
        } catch (err) {
          // Back only with its properties; else it stays moved, with them (its old locks expire).
          try {
            props.move(dst.path, src.path);
          } catch {
            throw err;
          }
          await moveTree(dstPath, srcPath).catch(() => {});
          throw err;
        }
      } else {
        try {
          await copyTree(srcPath, dstPath, depth === 'infinity');
          props.copy(src.path, dst.path, depth === 'infinity');
        } catch (err) {
          // A copy cut short (a full disk) leaves nothing behind; a destination that appeared
          // meanwhile (EEXIST) is another request's.
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') await removeTree(dstPath).catch(() => {});
          throw err;
        }
      }
    });
  });
  // The change is made: its counts are marked, on a full disk too (the space reserve).
  await ctx.env.reserve.freeing(() => quotas.stale(src.share.root));
  await ctx.env.reserve.freeing(() => quotas.stale(dst.share.root));
  return { status: existed ? 204 : 201 };
}

/**
 * `fn` with the source's path through its parent folder (`inParent`), or for a share itself (a
 * COPY of a whole share: only read) its folder as the share's real path.
 */
async function fromSource<T>(src: FsTarget, fn: (path: string) => Promise<T>): Promise<T> {
  return src.names.length === 0 ? fn(await realRoot(src.share.root)) : inParent(src.share.root, src.names, fn);
}

export const copy: Handler = (ctx) => transfer(ctx, false);
export const move: Handler = (ctx) => transfer(ctx, true);
