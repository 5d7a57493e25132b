/**
 * DELETE (RFC 4918 9.6): a file, or a folder with everything in it; its locks and dead properties
 * go too, through the space reserve on a full disk, which is written again afterwards.
 */
import { inParent } from '../anchored.js';
import { checkConditions } from '../conditional.js';
import { DavError } from '../replies.js';
import { removeTree } from '../tree.js';
import type { Handler } from './types.js';

export const del: Handler = async (ctx) => {
  const t = ctx.writable(await ctx.target());
  if (t.stat === undefined) throw new DavError(404, 'not found');
  await ctx.checkIf(t);
  checkConditions(ctx.req.headers, t.stat, false);
  ctx.checkLocks(t, { tree: true, member: true });
  await inParent(t.share.root, t.names, removeTree);
  // What is gone takes its properties, locks and count with it, on a full disk too (the reserve).
  const { props, locks, quotas, reserve } = ctx.env;
  await reserve.freeing(() => props.remove(t.path));
  await reserve.freeing(() => locks.removeTree(t.path));
  const size = t.stat.size;
  if (t.stat.isDirectory()) await reserve.freeing(() => quotas.stale(t.share.root));
  else await reserve.freeing(() => quotas.adjust(t.share.root, -size));
  await reserve.ensure();
  return { status: 204 };
};
