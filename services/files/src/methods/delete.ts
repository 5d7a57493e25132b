/** DELETE (RFC 4918 9.6): a file, or a folder with everything in it; its locks and dead properties go too. */
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
  ctx.env.props.remove(t.path);
  ctx.env.locks.removeTree(t.path);
  if (t.stat.isDirectory()) ctx.env.quotas.stale(t.share.root);
  else ctx.env.quotas.adjust(t.share.root, -t.stat.size);
  return { status: 204 };
};
