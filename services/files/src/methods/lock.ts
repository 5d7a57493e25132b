/**
 * LOCK and UNLOCK (RFC 4918 9.10, 9.11): exclusive and shared write locks, depth 0 and infinity,
 * timeouts capped by `maxLockTimeout`, refresh (a LOCK without a body naming the lock in `If`),
 * and locks on unmapped URLs, which create an empty file (RFC 4918 7.3). Conflicts get 423 with
 * `no-conflicting-lock`; an UNLOCK whose token does not cover the URL gets 409.
 */
import { unlink, writeFile } from 'node:fs/promises';
import { inParent } from '../anchored.js';
import type { RequestContext } from '../context.js';
import type { CreateResult, Lock, LockScope } from '../locks.js';
import { xmlHref } from '../paths.js';
import { activeLock } from '../props.js';
import { DavError, XML_DECL, XML_TYPE, type Reply } from '../replies.js';
import { child, DAV, elements, readXml, serializeChildren } from '../xml.js';
import { parseDepth } from './propfind.js';
import type { Handler } from './types.js';

/** The first acceptable value of a `Timeout` header, capped. */
export function lockTimeout(header: string | undefined, max: number): number {
  if (header === undefined) return max;
  for (const part of header.split(',')) {
    const v = part.trim();
    if (/^infinite$/i.test(v)) return max;
    const m = /^Second-(\d{1,12})$/i.exec(v);
    if (m) return Math.min(max, Math.max(1, Number(m[1])) * 1000);
  }
  return max;
}

function lockReply(status: number, lock: Lock, withToken: boolean): Reply {
  return {
    status,
    headers: { 'Content-Type': XML_TYPE, ...(withToken ? { 'Lock-Token': `<${lock.token}>` } : {}) },
    body: `${XML_DECL}<D:prop xmlns:D="DAV:"><D:lockdiscovery>${activeLock(lock)}</D:lockdiscovery></D:prop>\n`,
  };
}

async function refresh(ctx: RequestContext): Promise<Reply> {
  const t = await ctx.target();
  if (t.kind === 'root') throw new DavError(403, 'the root cannot be locked');
  const tokens = ctx.tokens();
  if (tokens.size === 0) throw new DavError(400, 'a LOCK without a body refreshes a lock named in the If header');
  await ctx.checkIf(t);
  const lock = ctx.env.locks.covering(t.path).find((l) => tokens.has(l.token) && l.user === ctx.user.name);
  if (lock === undefined) throw new DavError(412, 'no lock of yours with that token covers this resource', 'lock-token-matches-request-uri');
  ctx.env.locks.refresh(lock, lockTimeout(ctx.header('timeout'), ctx.settings.maxLockTimeout));
  return lockReply(200, lock, false);
}

export const lock: Handler = async (ctx) => {
  const body = await readXml(ctx.req, ctx.settings.maxXmlSize);
  if (body === undefined) return refresh(ctx);
  if (body.ns !== DAV || body.local !== 'lockinfo') throw new DavError(400, 'LOCK body must be a DAV:lockinfo element');
  const scopeEl = child(body, DAV, 'lockscope');
  const scopeName = scopeEl ? elements(scopeEl)[0] : undefined;
  if (scopeName === undefined || scopeName.ns !== DAV || (scopeName.local !== 'exclusive' && scopeName.local !== 'shared')) {
    throw new DavError(400, 'DAV:lockscope must be exclusive or shared');
  }
  const typeEl = child(body, DAV, 'locktype');
  const typeName = typeEl ? elements(typeEl)[0] : undefined;
  if (typeName === undefined || typeName.ns !== DAV || typeName.local !== 'write') throw new DavError(400, 'DAV:locktype must be write');
  const ownerEl = child(body, DAV, 'owner');
  const scope = scopeName.local as LockScope;
  const depth = parseDepth(ctx.header('depth'), 'infinity');
  if (depth === '1') throw new DavError(400, 'a lock has Depth 0 or infinity');
  const t = ctx.writable(await ctx.target());
  if (t.stat === undefined && !t.parentOk) throw new DavError(409, 'the parent collection does not exist');
  await ctx.checkIf(t);
  const conflicts = ctx.env.locks.conflicts(t.path, scope, depth);
  if (conflicts.length > 0) throw new DavError(423, 'a conflicting lock exists', 'no-conflicting-lock', `<D:href>${xmlHref(conflicts[0]!.href)}</D:href>`);
  let created = false;
  if (t.stat === undefined) {
    ctx.checkLocks(t, { member: true });
    await inParent(t.share.root, t.names, (path) => writeFile(path, '', { flag: 'wx', mode: 0o644 }));
    created = true;
  }
  // The empty resource made for the lock goes again when no lock is granted (a conflict, or a
  // lock table that cannot record it: a full disk).
  const unmake = async (): Promise<void> => {
    if (created) await inParent(t.share.root, t.names, unlink).catch(() => {});
  };
  let granted: CreateResult;
  try {
    granted = ctx.env.locks.create({
      path: t.path,
      href: t.href,
      scope,
      depth,
      owner: ownerEl ? serializeChildren(ownerEl) : '',
      user: ctx.user.name,
      timeoutMs: lockTimeout(ctx.header('timeout'), ctx.settings.maxLockTimeout),
    });
  } catch (err) {
    await unmake();
    throw err;
  }
  // Another request (or instance) may have locked it meanwhile: the table checks again as it grants.
  if (!granted.ok) {
    await unmake();
    throw new DavError(423, 'a conflicting lock exists', 'no-conflicting-lock', `<D:href>${xmlHref(granted.conflicts[0]!.href)}</D:href>`);
  }
  return lockReply(created ? 201 : 200, granted.lock, true);
};

export const unlock: Handler = async (ctx) => {
  const raw = ctx.header('lock-token');
  const m = raw === undefined ? null : /^\s*<([^>]+)>\s*$/.exec(raw);
  if (!m) throw new DavError(400, 'UNLOCK needs a Lock-Token header: <token>');
  const t = await ctx.target();
  if (t.kind === 'root') throw new DavError(409, 'the root holds no locks', 'lock-token-matches-request-uri');
  const lock = ctx.env.locks.covering(t.path).find((l) => l.token === m[1]);
  if (lock === undefined) throw new DavError(409, 'no lock with that token covers this resource', 'lock-token-matches-request-uri');
  if (lock.user !== ctx.user.name) throw new DavError(403, 'the lock belongs to another user');
  // On a full disk too (the space reserve).
  await ctx.env.reserve.freeing(() => ctx.env.locks.remove(lock.token));
  return { status: 204 };
};
