/**
 * GET and HEAD (RFC 7231, 7232, 7233). A file streams from disk (small ones are read in one go),
 * with single and multiple byte ranges, If-Range, and the download headers a browser needs. A
 * collection (or the root) answers with a plain HTML listing.
 */
import { createReadStream, type Stats } from 'node:fs';
import { FileBody } from '../file-body.js';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { checkConditions } from '../conditional.js';
import { htmlListing } from '../html.js';
import { DavError, type Reply } from '../replies.js';
import { contentTypeOf, etagOf } from '../resource.js';
import type { Handler } from './types.js';

const SMALL = 64 * 1024;

type Range = { readonly start: number; readonly end: number };

/** Byte ranges of `Range: bytes=...` within `size`; undefined to ignore the header; 416 if none fits. */
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
  return ranges;
}

/** `attachment; filename=...` with an ASCII fallback and the UTF-8 form (RFC 6266). */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const utf8 = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${utf8}`;
}

/** The headers of a whole file, which depend only on its stats and name: built once per looked-up stats. */
const byStats = new WeakMap<Stats, Readonly<Record<string, string | number>>>();

function fileHeaders(st: Stats, name: string): Readonly<Record<string, string | number>> {
  let headers = byStats.get(st);
  if (headers === undefined) {
    headers = {
      ETag: etagOf(st),
      'Last-Modified': st.mtime.toUTCString(),
      'Accept-Ranges': 'bytes',
      'Content-Type': contentTypeOf(name),
      'Content-Disposition': contentDisposition(name),
      'Content-Length': st.size,
    };
    byStats.set(st, headers);
  }
  return headers;
}

export const get: Handler = async (ctx) => {
  const t = await ctx.target();
  if (t.kind === 'root' || t.stat?.isDirectory() === true) return htmlListing(ctx, t);
  if (t.stat === undefined || !t.stat.isFile()) throw new DavError(404, 'not found');
  const st = t.stat;
  const read = ctx.req.method === 'GET' || ctx.req.method === 'HEAD';
  const etag = etagOf(st);
  const whole = fileHeaders(st, t.names[t.names.length - 1]!);
  if (checkConditions(ctx.req.headers, st, read) === 'not-modified') return { status: 304, headers: { ETag: etag, 'Last-Modified': whole['Last-Modified']! } };
  const size = st.size;
  let ranges: Range[] | undefined;
  const rangeHeader = ctx.header('range');
  if (rangeHeader !== undefined && size > 0) {
    const ifRange = ctx.header('if-range');
    const fresh = ifRange === undefined || ifRange === etag || (!ifRange.startsWith('"') && Date.parse(ifRange) >= Math.floor(st.mtimeMs / 1000) * 1000);
    if (fresh) ranges = parseRanges(rangeHeader, size);
  }
  const head = ctx.req.method === 'HEAD';
  if (ranges === undefined) {
    if (head) return { status: 200, headers: whole };
    if (size <= SMALL) return { status: 200, headers: whole, body: await ctx.env.cache.read(t.path, st) };
    return { status: 200, headers: whole, body: new FileBody(t.path, 0, size - 1) };
  }
  const headers: Record<string, string | number> = { ...whole };
  if (ranges.length === 1) {
    const r = ranges[0]!;
    headers['Content-Range'] = `bytes ${r.start}-${r.end}/${size}`;
    headers['Content-Length'] = r.end - r.start + 1;
    return { status: 206, headers, ...(head ? {} : { body: new FileBody(t.path, r.start, r.end) }) };
  }
  return multipart(t.path, ranges, size, headers, head);
};

function multipart(path: string, ranges: readonly Range[], size: number, headers: Record<string, string | number>, head: boolean): Reply {
  const boundary = randomBytes(12).toString('hex');
  const type = String(headers['Content-Type']);
  const partHead = (r: Range): string => `\r\n--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  let length = Buffer.byteLength(tail);
  for (const r of ranges) length += Buffer.byteLength(partHead(r)) + (r.end - r.start + 1);
  const out = { ...headers, 'Content-Type': `multipart/byteranges; boundary=${boundary}`, 'Content-Length': length };
  async function* parts(): AsyncGenerator<Buffer> {
    for (const r of ranges) {
      yield Buffer.from(partHead(r));
      for await (const chunk of createReadStream(path, { start: r.start, end: r.end })) yield chunk as Buffer;
    }
    yield Buffer.from(tail);
  }
  return { status: 206, headers: out, ...(head ? {} : { body: Readable.from(parts()) }) };
}
