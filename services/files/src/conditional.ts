/**
 * HTTP conditional requests (RFC 7232 6, in its order): If-Match, If-Unmodified-Since,
 * If-None-Match, If-Modified-Since. A failed precondition is 412; a GET or HEAD that needs no body
 * is 304.
 */
import type { Stats } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { DavError } from './replies.js';
import { etagOf, modifiedSecond } from './resource.js';

function tags(value: string): string[] {
  return value.split(',').map((t) => t.trim()).filter((t) => t !== '');
}

function weakMatch(a: string, b: string): boolean {
  return a.replace(/^W\//, '') === b.replace(/^W\//, '');
}

function date(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

/** 'not-modified' for a GET/HEAD the client already has; throws 412 when a precondition fails. */
export function checkConditions(headers: IncomingHttpHeaders, st: Stats | undefined, read: boolean): 'go' | 'not-modified' {
  const etag = st ? etagOf(st) : undefined;
  const mtime = st ? modifiedSecond(st) : undefined;
  const ifMatch = headers['if-match'];
  if (ifMatch !== undefined) {
    const list = tags(ifMatch);
    const ok = etag !== undefined && (list.includes('*') || list.some((t) => !t.startsWith('W/') && t === etag));
    if (!ok) throw new DavError(412, 'If-Match does not hold');
  } else {
    const since = date(headers['if-unmodified-since']);
    if (since !== undefined && mtime !== undefined && mtime > since) throw new DavError(412, 'modified since If-Unmodified-Since');
  }
  const ifNone = headers['if-none-match'];
  if (ifNone !== undefined) {
    const list = tags(ifNone);
    const matched = etag !== undefined && (list.includes('*') || list.some((t) => weakMatch(t, etag)));
    if (matched) {
      if (read) return 'not-modified';
      throw new DavError(412, 'If-None-Match does not hold');
    }
  } else if (read) {
    const since = date(headers['if-modified-since']);
    if (since !== undefined && mtime !== undefined && mtime <= since) return 'not-modified';
  }
  return 'go';
}
