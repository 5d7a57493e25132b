/**
 * GET and HEAD (RFC 7231, 7232, 7233). A file is only read through a descriptor checked to be
 * inside its share (`anchored.ts`): a small one comes from the file cache, which reads it that way
 * (`file-cache.ts`), whole or its ranges; a larger one and its ranges are sent from the descriptor
 * through reused buffers (`file-body.ts`); several ranges as multipart/byteranges. If-Range, and
 * the download headers a browser needs. A collection (or the root) answers with a plain HTML listing.
 */
import type { Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { openFileInside } from '../anchored.js';
import { checkConditions } from '../conditional.js';
import type { RequestContext } from '../context.js';
import { FileBody, lengthOfParts, type FilePart } from '../file-body.js';
import { sameFile } from '../file-cache.js';
import { htmlListing } from '../html.js';
import { lastModified } from '../props.js';
import { closeQuick, readStartQuick } from '../quick-calls.js';
import { DavError, type Reply } from '../replies.js';
import { contentTypeOf, etagOf, modifiedSecond } from '../resource.js';
import type { Handler } from './types.js';

/** Files up to this size are read in one call and may be held by the file cache. */
const SMALL = 64 * 1024;

type Range = { readonly start: number; readonly end: number };

/**
 * Byte ranges of `Range: bytes=...` within `size`; 416 if none fits; undefined to ignore the
 * header (RFC 7233 lets a server ignore a Range it will not serve) when it does not parse, asks for
 * more than 64 ranges, or for more bytes in all than the file has, as nginx does: overlapping
 * ranges would make the answer larger than the file, many times over.
 */
export function parseRanges(header: string, size: number): Range[] | undefined {
  const m = /^bytes=(.+)$/i.exec(header.trim());
  if (!m) return undefined;
  const ranges: Range[] = [];
  for (const part of m[1]!.split(',')) {
    const r = /^\s*(\d*)\s*-\s*(\d*)\s*$/.exec(part);
    if (!r || (r[1] === '' && r[2] === '')) return undefined;
    let start: number;
    let end: number;
    if (r[1] === '') {
      const suffix = Number(r[2]);
      if (suffix === 0) continue;
      start = Math.max(0, size - suffix);
      end = size - 1;
    } else {
      start = Number(r[1]);
      end = r[2] === '' ? size - 1 : Math.min(Number(r[2]), size - 1);
      if (r[2] !== '' && Number(r[2]) < start) return undefined;
    }
    if (start < size && start <= end) ranges.push({ start, end });
  }
  if (ranges.length === 0) {
    throw new DavError(416, 'no requested range lies within the file', undefined, undefined, { 'Content-Range': `bytes */${size}` });
  }
  if (ranges.length > 64) return undefined;
  let total = 0;
  for (const r of ranges) total += r.end - r.start + 1;
  return total > size ? undefined : ranges;
}

/**
 * `attachment; filename="..."` (RFC 6266); a name that plain ASCII cannot say as it is gets an
 * ASCII fallback there and its UTF-8 form in `filename*` (its appendix D).
 */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  if (ascii === name) return `attachment; filename="${name}"`;
  const utf8 = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${utf8}`;
}

/** The headers of a whole file, which depend only on its stats and name: built once per stats object. */
const byStats = new WeakMap<Stats, Readonly<Record<string, string | number>>>();

export function fileHeaders(st: Stats, name: string): Readonly<Record<string, string | number>> {
  let headers = byStats.get(st);
  if (headers === undefined) {
    headers = Object.freeze({
      ETag: etagOf(st),
      'Last-Modified': lastModified(st),
      'Accept-Ranges': 'bytes',
      'Content-Type': contentTypeOf(name),
      'Content-Disposition': contentDisposition(name),
      // Last: Node 20 turns a Content-Disposition written after a Content-Length into a latin1
      // Buffer and back into a string (200 bytes of garbage per response, bench/files garbage.mjs).
      'Content-Length': st.size,
    });
    byStats.set(st, headers);
  }
  return headers;
}

export const get: Handler = async (ctx) => {
  const t = await ctx.target();
  if (t.kind === 'root' || t.stat?.isDirectory() === true) return htmlListing(ctx, t);
  if (t.stat === undefined || !t.stat.isFile()) throw new DavError(404, 'not found');
  const name = t.names[t.names.length - 1]!;
  // A small file, whole or its ranges: from the cache while it holds the same file, else read
  // through a checked descriptor (undefined when that one is larger or not inside: the checked
  // open below).
  if (t.stat.size <= SMALL) {
    const small = await ctx.env.cache.read(t.share.root, t.path, t.stat, SMALL);
    if (small !== undefined) return inMemory(ctx, small.stat, name, small.body);
  }
  // Served from a descriptor checked to be inside the share; its stats, not the path's, describe
  // it (the looked-up ones, whose headers are built already, when they are of the same file).
  const opened = await openFileInside(t.share.root, t.path);
  if (opened === undefined) throw new DavError(404, 'not found');
  const st = sameFile(t.stat, opened.stat) ? t.stat : opened.stat;
  let reply: Reply;
  try {
    reply = await serveFile(ctx, name, opened.fd, st);
  } catch (err) {
    closeQuick(opened.fd);
    throw err;
  }
  // A body that reads the descriptor closes it when it ends or is destroyed; otherwise it is done with.
  if (!(reply.body instanceof FileBody)) closeQuick(opened.fd);
  return reply;
};

function notModified(headers: Readonly<Record<string, string | number>>): Reply {
  return { status: 304, headers: { ETag: headers.ETag!, 'Last-Modified': headers['Last-Modified']! } };
}

/**
 * The ranges to send of a file with stats `st` and headers `all`: undefined for the whole file (no
 * Range, an empty file, an If-Range that does not hold, a Range ignored), 416 when none fits.
 */
function rangesAsked(ctx: RequestContext, st: Stats, all: Readonly<Record<string, string | number>>): Range[] | undefined {
  const rangeHeader = ctx.header('range');
  if (rangeHeader === undefined || st.size === 0) return undefined;
  const ifRange = ctx.header('if-range');
  const fresh = ifRange === undefined || (ifRange.startsWith('"') ? ifRange === String(all.ETag) : isStrongLastModified(ifRange, st));
  return fresh ? parseRanges(rangeHeader, st.size) : undefined;
}

/** A small file whose content is in memory: whole, one range, or several as multipart/byteranges. */
function inMemory(ctx: RequestContext, st: Stats, name: string, body: Buffer): Reply {
  const all = fileHeaders(st, name);
  if (checkConditions(ctx.req.headers, st, true) === 'not-modified') return notModified(all);
  const ranges = rangesAsked(ctx, st, all);
  const head = ctx.req.method === 'HEAD';
  if (ranges === undefined) return head ? { status: 200, headers: all } : { status: 200, headers: all, body };
  if (ranges.length === 1) {
    const r = ranges[0]!;
    const headers = { ...all, 'Content-Range': `bytes ${r.start}-${r.end}/${st.size}`, 'Content-Length': r.end - r.start + 1 };
    return head ? { status: 206, headers } : { status: 206, headers, body: body.subarray(r.start, r.end + 1) };
  }
  const { headers, parts } = multipartOf(ranges, st.size, all);
  if (head) return { status: 206, headers };
  return { status: 206, headers, body: Buffer.concat(parts.map((p) => (p.kind === 'bytes' ? p.bytes : body.subarray(p.start, p.end + 1))), Number(headers['Content-Length'])) };
}

async function serveFile(ctx: RequestContext, name: string, fd: number, st: Stats): Promise<Reply> {
  const all = fileHeaders(st, name);
  if (checkConditions(ctx.req.headers, st, true) === 'not-modified') return notModified(all);
  const size = st.size;
  const ranges = rangesAsked(ctx, st, all);
  const head = ctx.req.method === 'HEAD';
  if (ranges === undefined) {
    if (head) return { status: 200, headers: all };
    if (size <= SMALL) return { status: 200, headers: all, body: await readStartQuick(fd, size) };
    return { status: 200, headers: all, body: FileBody.range(fd, 0, size - 1) };
  }
  const headers: Record<string, string | number> = { ...all };
  if (ranges.length === 1) {
    const r = ranges[0]!;
    headers['Content-Range'] = `bytes ${r.start}-${r.end}/${size}`;
    headers['Content-Length'] = r.end - r.start + 1;
    return { status: 206, headers, ...(head ? {} : { body: FileBody.range(fd, r.start, r.end) }) };
  }
  const multipart = multipartOf(ranges, size, all);
  // A HEAD sends no body: the handler closes the descriptor.
  return head ? { status: 206, headers: multipart.headers } : { status: 206, headers: multipart.headers, body: new FileBody(fd, multipart.parts) };
}

/**
 * Whether an If-Range date holds (RFC 9110 13.1.5): it is exactly the file's Last-Modified, and
 * that is a strong validator, at least a second older than now (RFC 7232 2.2.2: within its second
 * the file may change again under the same date). A weak entity-tag (`W/"..."`) is no date and
 * never holds.
 */
function isStrongLastModified(date: string, st: Stats): boolean {
  const second = modifiedSecond(st);
  return Date.parse(date) === second && second <= Date.now() - 1000;
}

/**
 * Several ranges as multipart/byteranges: the response's headers (the file's `headers` with the
 * multipart type and the whole length) and its parts, each range's part head, then its bytes
 * (read from the descriptor like a single range, `file-body.ts`, or cut from the content in memory).
 */
function multipartOf(ranges: readonly Range[], size: number, headers: Readonly<Record<string, string | number>>): { headers: Record<string, string | number>; parts: FilePart[] } {
  const boundary = randomBytes(12).toString('hex');
  const type = String(headers['Content-Type']);
  const parts: FilePart[] = [];
  for (const r of ranges) {
    parts.push({ kind: 'bytes', bytes: Buffer.from(`\r\n--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`) });
    parts.push({ kind: 'range', start: r.start, end: r.end });
  }
  parts.push({ kind: 'bytes', bytes: Buffer.from(`\r\n--${boundary}--\r\n`) });
  return { headers: { ...headers, 'Content-Type': `multipart/byteranges; boundary=${boundary}`, 'Content-Length': lengthOfParts(parts) }, parts };
}
