/** MKCOL (RFC 4918 9.3): 201, 405 when something is there, 409 without a parent, 415 with a body. */
import { mkdir } from 'node:fs/promises';
import { inParent } from '../anchored.js';
import { DavError } from '../replies.js';
import type { Handler } from './types.js';

export const mkcol: Handler = async (ctx) => {
  const hasBody = Number(ctx.header('content-length') ?? '0') > 0 || ctx.header('transfer-encoding') !== undefined;
  const target = await ctx.target();
  if (target.kind === 'fs' && target.stat !== undefined) throw new DavError(405, 'something already exists at this URL');
  const t = ctx.writable(target);
  if (hasBody) throw new DavError(415, 'MKCOL with a body is not supported');
  if (!t.parentOk) throw new DavError(409, 'the parent collection does not exist');
  await ctx.checkIf(t);
  ctx.checkLocks(t, { member: true });
  await inParent(t.share.root, t.names, (path) => mkdir(path, { mode: 0o755 }));
  return { status: 201 };
};
