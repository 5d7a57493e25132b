/**
 * The WebDAV `If` header (RFC 4918 10.4): parsing into lists of conditions, and evaluation against
 * the resources they name. The header is true when any one list is true; a list is true when all
 * its conditions are. A state token is true when it is the token of a live lock covering the
 * resource; an entity tag when it equals the resource's current strong ETag. Every state token in
 * the header counts as submitted for the lock checks that follow (RFC 4918 6.3).
 */
import { DavError } from './replies.js';

export interface Condition {
  readonly not: boolean;
  readonly kind: 'token' | 'etag';
  readonly value: string;
}

export interface IfList {
  /** The resource tag's URL, or undefined for the request URL. */
  readonly resource: string | undefined;
  readonly conditions: readonly Condition[];
}

export function parseIf(header: string): IfList[] {
  const lists: IfList[] = [];
  let i = 0;
  let resource: string | undefined;
  let tagged: boolean | undefined;
  let listsForTag = 1;
  const skip = (): void => {
    while (i < header.length && /\s/.test(header[i]!)) i++;
  };
  const bad = (why: string): never => {
    throw new DavError(400, `malformed If header: ${why}`);
  };
  const until = (close: string): string => {
    const end = header.indexOf(close, i);
    if (end < 0) bad(`missing "${close}"`);
    const value = header.slice(i, end);
    i = end + 1;
    return value;
  };
  skip();
  if (i >= header.length) bad('empty');
  while (i < header.length) {
    const ch = header[i];
    if (ch === '<') {
      if (tagged === false) bad('a resource tag after untagged lists');
      if (tagged === true && listsForTag === 0) bad('a resource tag without a list');
      tagged = true;
      i++;
      resource = until('>');
      listsForTag = 0;
    } else if (ch === '(') {
      if (tagged === undefined) tagged = false;
      if (tagged && resource === undefined) bad('a list without its resource tag');
      i++;
      const conditions: Condition[] = [];
      for (;;) {
        skip();
        if (header[i] === ')') {
          i++;
          break;
        }
        let not = false;
        if (header.slice(i, i + 3).toLowerCase() === 'not') {
          not = true;
          i += 3;
          skip();
        }
        if (header[i] === '<') {
          i++;
          conditions.push({ not, kind: 'token', value: until('>') });
        } else if (header[i] === '[') {
          i++;
          conditions.push({ not, kind: 'etag', value: until(']') });
        } else {
          bad('expected a state token or an entity tag');
        }
      }
      if (conditions.length === 0) bad('an empty list');
      lists.push({ resource, conditions });
      listsForTag++;
    } else {
      bad(`unexpected "${ch}"`);
    }
    skip();
  }
  if (listsForTag === 0) bad('a resource tag without a list');
  return lists;
}

export function submittedTokens(lists: readonly IfList[]): Set<string> {
  const tokens = new Set<string>();
  for (const list of lists) for (const c of list.conditions) if (c.kind === 'token') tokens.add(c.value);
  return tokens;
}

/** What evaluation needs to know about one resource. */
export interface ResourceState {
  /** Current strong ETag (quoted), undefined when the resource does not exist. */
  readonly etag: string | undefined;
  /** Whether a live lock with this token covers the resource. */
  hasLock(token: string): boolean;
}

/** True when at least one list holds. `stateOf(undefined)` is the request URL. */
export async function evaluateIf(lists: readonly IfList[], stateOf: (resource: string | undefined) => Promise<ResourceState>): Promise<boolean> {
  const cache = new Map<string | undefined, ResourceState>();
  for (const list of lists) {
    let state = cache.get(list.resource);
    if (!state) {
      state = await stateOf(list.resource);
      cache.set(list.resource, state);
    }
    const s = state;
    const holds = list.conditions.every((c) => {
      const value = c.kind === 'token' ? s.hasLock(c.value) : s.etag !== undefined && weakless(c.value) === s.etag;
      return c.not ? !value : value;
    });
    if (holds) return true;
  }
  return false;
}

function weakless(etag: string): string {
  return etag.trim();
}
