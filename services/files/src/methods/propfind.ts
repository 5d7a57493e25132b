/**
 * PROPFIND (RFC 4918 9.1). Depth 0 and 1; infinity only when enabled (else 403 with
 * `propfind-finite-depth`). The multistatus is made as it is sent (`MadeBody`): members are read
 * from the folder as it is walked, stated in batches (`folderMembers`), and each batch's responses
 * are written as UTF-8 (`Utf8Chunks`) and handed on as one part, so a folder of any size costs the
 * same memory (besides the responses kept for the next listing, `kept-responses.ts`, bounded on
 * their own).
 */
import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Env, FsTarget, RequestContext } from '../context.js';
import type { DeadProp } from '../dead-props.js';
import { encodeName, hrefOf } from '../paths.js';
import { renderResponse, statsOnlyRequest, type PropName, type PropRequest, type ResourceView } from '../props.js';
import { DavError, XML_DECL, XML_TYPE, type Reply } from '../replies.js';
import { openDirInside } from '../anchored.js';
import { MadeBody } from '../made-body.js';
import { folderMembers } from '../member-stats.js';
import { quotaOf, viewOf } from '../views.js';
import { Utf8Chunks } from '../utf8-chunks.js';
import { child, DAV, elements, readXml, type XmlElement } from '../xml.js';
import type { Handler } from './types.js';

const NO_DEAD: readonly DeadProp[] = [];

function parseRequest(body: XmlElement | undefined): PropRequest {
  if (body === undefined) return { kind: 'allprop', include: [] };
  if (body.ns !== DAV || body.local !== 'propfind') throw new DavError(400, 'PROPFIND body must be a DAV:propfind element');
  const [first] = elements(body);
  if (first === undefined) throw new DavError(400, 'DAV:propfind is empty');
  if (first.ns === DAV && first.local === 'propname') return { kind: 'propname' };
  if (first.ns === DAV && first.local === 'allprop') {
    const include = child(body, DAV, 'include');
    return { kind: 'allprop', include: include ? elements(include).map(nameOf) : [] };
  }
  if (first.ns === DAV && first.local === 'prop') return { kind: 'prop', names: elements(first).map(nameOf) };
  throw new DavError(400, 'DAV:propfind needs prop, propname or allprop');
}

function nameOf(el: XmlElement): PropName {
  return { ns: el.ns, name: el.local };
}

export function parseDepth(value: string | undefined, fallback: '0' | '1' | 'infinity'): '0' | '1' | 'infinity' {
  if (value === undefined) return fallback;
  const v = value.trim().toLowerCase();
  if (v === '0' || v === '1' || v === 'infinity') return v;
  throw new DavError(400, `bad Depth header "${value}"`);
}

async function* members(env: Env, t: FsTarget, request: PropRequest, infinite: boolean, href: string, path: string): AsyncGenerator<string | Uint8Array> {
  const deadBelow = request.kind === 'prop' && request.names.every((n) => n.ns === DAV) ? new Map<string, DeadProp[]>() : env.props.below(path);
  const quota = await quotaOf(env, t);
  // Listed through the folder open and checked inside the share (a link swapped in is not entered).
  const open = await openDirInside(t.share.root, path);
  if (open === undefined) return;
  try {
    yield* listed(env, t, request, infinite, href, path, open.path, deadBelow, quota);
  } finally {
    open.close();
  }
}

async function* listed(
  env: Env,
  t: FsTarget,
  request: PropRequest,
  infinite: boolean,
  href: string,
  path: string,
  openPath: string,
  deadBelow: Map<string, DeadProp[]>,
  quota: ResourceView['quota'],
): AsyncGenerator<string | Uint8Array> {
  // Members are stated through the open folder; they are named (dead properties, views) by path.
  const prefix = path.endsWith('/') ? path : `${path}/`;
  // One lock lookup for the folder: with no lock on it (depth infinity) or inside it, no member has one.
  const unlocked = env.locks.covering(path).every((l) => l.depth !== 'infinity') && env.locks.inside(path).length === 0;
  // A batch's responses, written as UTF-8 as they are made and sent as one chunk.
  const out = new Utf8Chunks();
  // Responses made from a member's href and stats alone are kept (from the folder's second listing
  // on, for each set of properties asked) and sent again while the member's stats are unchanged
  // (`kept-responses.ts`): with no lock in or over the folder, for members without dead properties.
  const asked = unlocked ? statsOnlyRequest(request) : undefined;
  const kept = asked === undefined ? undefined : env.kept.folder(path, href, asked).begin();
  for await (const [names, stats] of folderMembers(t.share.root, openPath)) {
    // The sub-folders to descend into (Depth infinity), after this batch is sent.
    const folders: Array<[string, string]> = [];
    for (let i = 0; i < names.length; i++) {
      const st = stats[i];
      if (st === undefined) continue;
      const name = names[i]!;
      const keepable = kept !== undefined && (deadBelow.size === 0 || !deadBelow.has(prefix + name));
      if (!keepable || !kept.send(name, st, out)) {
        const p = prefix + name;
        const childHref = `${href}${encodeName(name)}${st.isDirectory() ? '/' : ''}`;
        const text = renderResponse(viewOf(env, childHref, p, name, st, deadBelow.size === 0 ? NO_DEAD : (deadBelow.get(p) ?? NO_DEAD), quota, unlocked ? [] : env.locks.covering(p)), request);
        if (keepable) kept.keep(name, st, text, out);
        else out.append(text);
      }
      if (infinite && st.isDirectory()) folders.push([`${href}${encodeName(name)}/`, prefix + name]);
    }
    if (out.length > 0) yield out.take();
    for (const [childHref, p] of folders) yield* members(env, t, request, true, childHref, p);
  }
  // Walked to its end (not abandoned): what the folder no longer holds is not kept.
  kept?.end();
}

function multistatus(parts: AsyncIterable<string | Uint8Array>): Reply {
  async function* all(): AsyncGenerator<string | Uint8Array> {
    yield `${XML_DECL}<D:multistatus xmlns:D="DAV:">\n`;
    yield* parts;
    yield '</D:multistatus>\n';
  }
  return { status: 207, headers: { 'Content-Type': XML_TYPE }, body: new MadeBody(all()) };
}

async function* rootListing(ctx: RequestContext, request: PropRequest, depth: string): AsyncGenerator<string> {
  const view = (href: string, name: string, st: Stats | undefined): ResourceView => ({ href, stat: st, collection: true, displayName: name, locks: [], dead: [] });
  yield renderResponse(view('/', '/', undefined), request);
  if (depth === '0') return;
  for (const name of ctx.env.shares.visible(ctx.user)) {
    let st: Stats | undefined;
    try {
      const t = await ctx.resolve(`/${encodeName(name)}/`);
      if (t.kind === 'fs') st = t.stat ?? (await stat(t.share.root).catch(() => undefined));
    } catch {
      continue;
    }
    yield renderResponse(view(hrefOf([name], true), name, st), request);
  }
}

export const propfind: Handler = async (ctx) => {
  const depth = parseDepth(ctx.header('depth'), 'infinity');
  if (depth === 'infinity' && !ctx.settings.propfindInfinity) {
    ctx.req.resume();
    throw new DavError(403, 'PROPFIND with Depth: infinity is not allowed here', 'propfind-finite-depth');
  }
  const request = parseRequest(await readXml(ctx.req, ctx.settings.maxXmlSize));
  const t = await ctx.target();
  if (t.kind === 'root') return multistatus(rootListing(ctx, request, depth));
  if (t.stat === undefined) throw new DavError(404, 'not found');
  const st = t.stat;
  const ft: FsTarget = t;
  const env = ctx.env;
  const quota = await quotaOf(env, t);
  const name = t.names[t.names.length - 1] ?? t.share.name;
  async function* parts(): AsyncGenerator<string | Uint8Array> {
    yield renderResponse(viewOf(env, ft.href, ft.path, name, st, env.props.get(ft.path), quota), request);
    if (depth !== '0' && st.isDirectory()) yield* members(env, ft, request, depth === 'infinity', ft.href, ft.path);
  }
  return multistatus(parts());
};
