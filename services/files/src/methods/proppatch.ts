/**
 * PROPPATCH (RFC 4918 9.2): every instruction in document order, all or nothing. Dead properties
 * go to the store. Two properties also set the file's modification time: DAV:getlastmodified
 * (ownCloud-style clients, rclone) and Windows' Win32LastModifiedTime (namespace
 * `urn:schemas-microsoft-com:`, whose other Win32* properties are kept as dead properties and
 * answered 200, which Windows needs or it fails the upload). Protected live properties get 403
 * and every other property of the request 424. When the disk is too full to record them, nothing
 * changes and every property gets 507.
 */
import { isDiskFull } from '@hearth/sqlite';
import { setTimesInside } from '../anchored.js';
import type { DeadProp, PropChange } from '../dead-props.js';
import { xmlHref } from '../paths.js';
import { isProtected, type PropName } from '../props.js';
import { DavError, statusLine, XML_DECL, XML_TYPE } from '../replies.js';
import { DAV, elements, emptyTag, readXml, serializeChildren, textOf, type XmlElement } from '../xml.js';
import type { Handler } from './types.js';

export const MS_NS = 'urn:schemas-microsoft-com:';

interface Instruction {
  readonly op: 'set' | 'remove';
  readonly el: XmlElement;
}

function instructions(body: XmlElement | undefined): Instruction[] {
  if (body === undefined || body.ns !== DAV || body.local !== 'propertyupdate') throw new DavError(400, 'PROPPATCH body must be a DAV:propertyupdate element');
  const out: Instruction[] = [];
  for (const action of elements(body)) {
    if (action.ns !== DAV || (action.local !== 'set' && action.local !== 'remove')) throw new DavError(400, 'DAV:propertyupdate holds only set and remove');
    const prop = elements(action).find((e) => e.ns === DAV && e.local === 'prop');
    if (prop === undefined) throw new DavError(400, `DAV:${action.local} without DAV:prop`);
    for (const el of elements(prop)) out.push({ op: action.local, el });
  }
  if (out.length === 0) throw new DavError(400, 'PROPPATCH changes nothing');
  return out;
}

/** The modification time a property sets, if it is one of those. */
function mtimeOf(i: Instruction): Date | undefined | 'invalid' {
  const isMtime = (i.el.ns === DAV && i.el.local === 'getlastmodified') || (i.el.ns === MS_NS && i.el.local === 'Win32LastModifiedTime');
  if (!isMtime || i.op !== 'set') return undefined;
  const t = Date.parse(textOf(i.el).trim());
  return Number.isNaN(t) ? 'invalid' : new Date(t);
}

/** The changes that put back what `changes` touched, as it was (`before`: the path's dead properties then). */
function restoring(changes: readonly PropChange[], before: readonly DeadProp[]): PropChange[] {
  const out = new Map<string, PropChange>();
  for (const c of changes) {
    const [ns, name] = c.op === 'set' ? [c.prop.ns, c.prop.name] : [c.ns, c.name];
    const old = before.find((p) => p.ns === ns && p.name === name);
    out.set(`${ns} ${name}`, old === undefined ? { op: 'remove', ns, name } : { op: 'set', prop: old });
  }
  return [...out.values()];
}

export const proppatch: Handler = async (ctx) => {
  const body = await readXml(ctx.req, ctx.settings.maxXmlSize);
  const t = await ctx.target();
  if (t.kind === 'root' || t.stat === undefined) throw new DavError(t.kind === 'root' ? 403 : 404, t.kind === 'root' ? 'the root has no properties to change' : 'not found');
  if (t.share.access !== 'write') throw new DavError(403, `${ctx.user.name} may only read share "${t.share.name}"`);
  await ctx.checkIf(t);
  ctx.checkLocks(t, {});
  const list = instructions(body);
  const failures = new Map<XmlElement, number>();
  let mtime: Date | undefined;
  for (const i of list) {
    const p: PropName = { ns: i.el.ns, name: i.el.local };
    const m = mtimeOf(i);
    if (m === 'invalid') failures.set(i.el, 409);
    else if (m !== undefined) mtime = m;
    else if (isProtected(p)) failures.set(i.el, 403);
  }
  if (failures.size === 0) {
    const changes: PropChange[] = [];
    for (const i of list) {
      if (i.el.ns === DAV && i.el.local === 'getlastmodified') continue;
      if (i.op === 'set') changes.push({ op: 'set', prop: { ns: i.el.ns, name: i.el.local, value: serializeChildren(i.el) } });
      else changes.push({ op: 'remove', ns: i.el.ns, name: i.el.local });
    }
    // The properties first: a database that cannot record them (a full disk) has changed nothing,
    // and every property is answered 507 (RFC 4918 9.2.1). A modification time that then cannot
    // be set takes them back.
    const before = mtime !== undefined && changes.length > 0 ? ctx.env.props.get(t.path) : [];
    try {
      ctx.env.props.apply(t.path, changes);
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      for (const i of list) failures.set(i.el, 507);
    }
    if (failures.size === 0 && mtime !== undefined) {
      try {
        await setTimesInside(t.share.root, t.path, t.stat.atime, mtime);
      } catch (err) {
        // The time's failure is the answer, whether or not they could be put back.
        if (changes.length > 0) {
          try {
            ctx.env.props.apply(t.path, restoring(changes, before));
          } catch {}
        }
        throw err;
      }
    }
  }
  const byStatus = new Map<number, string>();
  for (const i of list) {
    const status = failures.size === 0 ? 200 : (failures.get(i.el) ?? 424);
    byStatus.set(status, (byStatus.get(status) ?? '') + emptyTag(i.el.ns, i.el.local));
  }
  let propstats = '';
  for (const [status, props] of byStatus) {
    const cond = status === 403 ? '<D:error><D:cannot-modify-protected-property/></D:error>' : '';
    propstats += `<D:propstat><D:prop>${props}</D:prop><D:status>${statusLine(status)}</D:status>${cond}</D:propstat>`;
  }
  return {
    status: 207,
    headers: { 'Content-Type': XML_TYPE },
    body: `${XML_DECL}<D:multistatus xmlns:D="DAV:"><D:response><D:href>${xmlHref(t.href)}</D:href>${propstats}</D:response></D:multistatus>\n`,
  };
};
