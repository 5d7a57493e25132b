/**
 * Properties of a resource as XML: the live ones computed from the file (RFC 4918 15, RFC 4331
 * quota), the dead ones from the store, and the `response` element of a multistatus that carries
 * them. Values are rendered straight into strings; nothing is built as a tree.
 */
import type { Stats } from 'node:fs';
import type { DeadProp } from './dead-props.js';
import type { Lock } from './locks.js';
import { xmlHref } from './paths.js';
import { contentTypeOf, etagOf, etagValue, modifiedSecond } from './resource.js';
import { statusLine } from './replies.js';
import { closeTag, DAV, emptyTag, escapeXml, openTag } from './xml.js';

export interface PropName {
  readonly ns: string;
  readonly name: string;
}

/** What the renderers need to know about one resource. */
export interface ResourceView {
  readonly href: string;
  /** Undefined for the virtual root. */
  readonly stat: Stats | undefined;
  readonly collection: boolean;
  readonly displayName: string;
  readonly locks: readonly Lock[];
  readonly dead: readonly DeadProp[];
  /** RFC 4331, for collections in a folder with a quota. */
  readonly quota?: { readonly used: number; readonly available: number };
}

/** Live properties this server computes (`getlastmodified` and `displayname` are also settable). */
export const LIVE = [
  'creationdate',
  'displayname',
  'getcontentlength',
  'getcontenttype',
  'getetag',
  'getlastmodified',
  'lockdiscovery',
  'resourcetype',
  'supportedlock',
  'quota-available-bytes',
  'quota-used-bytes',
] as const;

const LIVE_SET: ReadonlySet<string> = new Set(LIVE);

export function isLive(p: PropName): boolean {
  return p.ns === DAV && LIVE_SET.has(p.name);
}

/** Live properties a client may not change (`getlastmodified` and `displayname` are settable). */
export function isProtected(p: PropName): boolean {
  return isLive(p) && p.name !== 'getlastmodified' && p.name !== 'displayname';
}

const SUPPORTED_LOCK =
  '<D:supportedlock><D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>' +
  '<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry></D:supportedlock>';

export function activeLock(lock: Lock): string {
  const seconds = Math.max(0, Math.round((lock.expires - Date.now()) / 1000));
  return (
    `<D:activelock><D:locktype><D:write/></D:locktype><D:lockscope><D:${lock.scope}/></D:lockscope>` +
    `<D:depth>${lock.depth === '0' ? '0' : 'infinity'}</D:depth>` +
    (lock.owner === '' ? '' : `<D:owner>${lock.owner}</D:owner>`) +
    `<D:timeout>Second-${seconds}</D:timeout>` +
    `<D:locktoken><D:href>${escapeXml(lock.token)}</D:href></D:locktoken>` +
    `<D:lockroot><D:href>${xmlHref(lock.href)}</D:href></D:lockroot></D:activelock>`
  );
}

export function lockDiscovery(locks: readonly Lock[]): string {
  return locks.length === 0 ? '<D:lockdiscovery/>' : `<D:lockdiscovery>${locks.map(activeLock).join('')}</D:lockdiscovery>`;
}

/** The rendered live property, or undefined when this resource does not have it. */
function live(name: string, r: ResourceView): string | undefined {
  const st = r.stat;
  switch (name) {
    case 'resourcetype':
      return r.collection ? '<D:resourcetype><D:collection/></D:resourcetype>' : '<D:resourcetype/>';
    case 'displayname':
      return `<D:displayname>${escapeXml(r.displayName)}</D:displayname>`;
    case 'creationdate':
      return st ? `<D:creationdate>${creationDate(st)}</D:creationdate>` : undefined;
    case 'getlastmodified':
      return st ? `<D:getlastmodified>${lastModified(st)}</D:getlastmodified>` : undefined;
    case 'getetag':
      return st ? `<D:getetag>${escapeXml(etagOf(st))}</D:getetag>` : undefined;
    case 'getcontentlength':
      return st && !r.collection ? `<D:getcontentlength>${st.size}</D:getcontentlength>` : undefined;
    case 'getcontenttype':
      return st && !r.collection ? `<D:getcontenttype>${escapeXml(contentTypeOf(r.displayName))}</D:getcontenttype>` : undefined;
    case 'lockdiscovery':
      return lockDiscovery(r.locks);
    case 'supportedlock':
      return SUPPORTED_LOCK;
    case 'quota-available-bytes':
      return r.quota ? `<D:quota-available-bytes>${r.quota.available}</D:quota-available-bytes>` : undefined;
    case 'quota-used-bytes':
      return r.quota ? `<D:quota-used-bytes>${r.quota.used}</D:quota-used-bytes>` : undefined;
    default:
      return undefined;
  }
}

function renderDead(p: DeadProp): string {
  return p.value === '' ? emptyTag(p.ns, p.name) : `${openTag(p.ns, p.name)}${p.value}${closeTag(p.ns, p.name)}`;
}

function propstat(props: string, status: number): string {
  return `<D:propstat><D:prop>${props}</D:prop><D:status>${statusLine(status)}</D:status></D:propstat>`;
}

export type PropRequest = { readonly kind: 'allprop'; readonly include: readonly PropName[] } | { readonly kind: 'propname' } | { readonly kind: 'prop'; readonly names: readonly PropName[] };

/**
 * Dates as text by whole second, for the two formats a listing repeats for every member: the files
 * of a folder share few distinct seconds, so most are formatted once. Cleared when it grows large.
 */
class SecondCache {
  readonly #texts = new Map<number, string>();
  readonly #format: (ms: number) => string;

  constructor(format: (ms: number) => string) {
    this.#format = format;
  }

  text(ms: number): string {
    const second = Math.floor(ms / 1000);
    let t = this.#texts.get(second);
    if (t === undefined) {
      if (this.#texts.size >= 4096) this.#texts.clear();
      t = this.#format(second * 1000);
      this.#texts.set(second, t);
    }
    return t;
  }
}

const rfc3339 = new SecondCache((ms) => `${new Date(ms).toISOString().slice(0, 19)}Z`);
const httpDate = new SecondCache((ms) => new Date(ms).toUTCString());

/** RFC 3339 without fractions: birth time where the file system keeps one, else the change time. */
function creationDate(st: Stats): string {
  return rfc3339.text(st.birthtimeMs > 0 ? st.birthtimeMs : st.ctimeMs);
}

/**
 * The HTTP date (RFC 9110) of the modification time's whole second (`modifiedSecond`): a GET's
 * `Last-Modified` and a PROPFIND's `getlastmodified` both come from here.
 */
export function lastModified(st: Stats): string {
  return httpDate.text(modifiedSecond(st));
}

/**
 * allprop of a resource with no dead property (nearly every member of a listing): the live
 * properties in one template, in the order of `LIVE`, as the general path renders them.
 */
function plainAllprop(r: ResourceView & { stat: Stats }): string {
  const st = r.stat;
  const file = !r.collection;
  return (
    `<D:response><D:href>${xmlHref(r.href)}</D:href><D:propstat><D:prop>` +
    `<D:creationdate>${creationDate(st)}</D:creationdate>` +
    `<D:displayname>${escapeXml(r.displayName)}</D:displayname>` +
    (file ? `<D:getcontentlength>${st.size}</D:getcontentlength><D:getcontenttype>${escapeXml(contentTypeOf(r.displayName))}</D:getcontenttype>` : '') +
    `<D:getetag>&quot;${etagValue(st)}&quot;</D:getetag>` +
    `<D:getlastmodified>${lastModified(st)}</D:getlastmodified>` +
    lockDiscovery(r.locks) +
    (file ? '<D:resourcetype/>' : '<D:resourcetype><D:collection/></D:resourcetype>') +
    `${SUPPORTED_LOCK}</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>\n`
  );
}

/**
 * For a request whose response for a member without dead properties and without locks is made
 * from nothing but the member's href and stats (`kept-responses.ts`): a text naming what it asks,
 * the same for requests asking the same. Those are allprop without `include` and lists of names
 * without the quota properties (a folder's come from its quota, not its stats); propname and allprop
 * with `include` give undefined.
 */
export function statsOnlyRequest(request: PropRequest): string | undefined {
  if (request.kind === 'allprop') return request.include.length === 0 ? 'allprop' : undefined;
  if (request.kind !== 'prop') return undefined;
  let text = 'prop';
  for (const p of request.names) {
    if (p.ns === DAV && p.name.startsWith('quota-')) return undefined;
    text += `\n${p.ns} ${p.name}`;
  }
  return text;
}

/** One `<D:response>` for `r`. */
export function renderResponse(r: ResourceView, request: PropRequest): string {
  if (request.kind === 'allprop' && request.include.length === 0 && r.dead.length === 0 && r.stat !== undefined) {
    return plainAllprop(r as ResourceView & { stat: Stats });
  }
  let found = '';
  let missing = '';
  const dead = (p: PropName): DeadProp | undefined => r.dead.find((d) => d.ns === p.ns && d.name === p.name);
  if (request.kind === 'propname') {
    for (const name of LIVE) if (live(name, r) !== undefined && !name.startsWith('quota-')) found += `<D:${name}/>`;
    for (const d of r.dead) if (!(d.ns === DAV && LIVE_SET.has(d.name))) found += emptyTag(d.ns, d.name);
  } else if (request.kind === 'allprop') {
    const overridden = new Set(r.dead.filter((d) => d.ns === DAV).map((d) => d.name));
    for (const name of LIVE) {
      if (name.startsWith('quota-') || overridden.has(name)) continue;
      found += live(name, r) ?? '';
    }
    for (const d of r.dead) found += renderDead(d);
    for (const p of request.include) {
      if (p.ns === DAV && p.name.startsWith('quota-')) {
        const v = live(p.name, r);
        if (v !== undefined) found += v;
      }
    }
  } else {
    for (const p of request.names) {
      const d = dead(p);
      const v = d !== undefined ? renderDead(d) : p.ns === DAV ? live(p.name, r) : undefined;
      if (v !== undefined) found += v;
      else missing += emptyTag(p.ns, p.name);
    }
  }
  let out = `<D:response><D:href>${xmlHref(r.href)}</D:href>`;
  if (found !== '' || missing === '') out += propstat(found, 200);
  if (missing !== '') out += propstat(missing, 404);
  return `${out}</D:response>\n`;
}
