/**
 * GET and HEAD (RFC 7231, 7232, 7233). A file streams from disk (small ones are read in one go),
 * with single and multiple byte ranges, If-Range, and the download headers a browser needs. A
 * collection (or the root) answers with a plain HTML listing.
 */
import { close as fsClose, createReadStream, read as fsRead, type Stats } from 'node:fs';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { openFileInside } from '../anchored.js';
import { checkConditions } from '../conditional.js';
import type { FsTarget, RequestContext } from '../context.js';
import { htmlListing } from '../html.js';
import { DavError, type Reply } from '../replies.js';
import { contentTypeOf, etagOf } from '../resource.js';
import type { Handler } from './types.js';

const SMALL = 64 * 1024;
const READ_CHUNK = 1024 * 1024;

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

export const get: Handler = async (ctx) => {
  const t = await ctx.target();
  if (t.kind === 'root' || t.stat?.isDirectory() === true) return htmlListing(ctx, t);
  if (t.stat === undefined || !t.stat.isFile()) throw new DavError(404, 'not found');
  // Served from a descriptor checked to be inside the share; its stats, not the path's, describe it.
  const opened = await openFileInside(t.share.root, t.path);
  if (opened === undefined) throw new DavError(404, 'not found');
  let reply: Reply;
  try {
    reply = await serveFile(ctx, t, opened.fd, opened.stat);
  } catch (err) {
    closeFd(opened.fd);
    throw err;
  }
  // A stream closes the descriptor when it ends or is destroyed; otherwise it is done with.
  if (!(reply.body instanceof Readable)) closeFd(opened.fd);
  return reply;
};

function closeFd(fd: number): void {
  fsClose(fd, () => {});
}

/** Read a small file whole from `fd` with the callback API (cheaper per call than FileHandle objects). */
function readSmall(fd: number, size: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const buf = Buffer.allocUnsafe(size);
    fsRead(fd, buf, 0, size, 0, (err, n) => (err ? reject(err) : resolve(n === size ? buf : buf.subarray(0, n))));
  });
}

async function serveFile(ctx: RequestContext, t: FsTarget, fd: number, st: Stats): Promise<Reply> {
  const read = ctx.req.method === 'GET' || ctx.req.method === 'HEAD';
  const etag = etagOf(st);
  const name = t.names[t.names.length - 1]!;
  const headers: Record<string, string | number> = {
    ETag: etag,
    'Last-Modified': st.mtime.toUTCString(),
    'Accept-Ranges': 'bytes',
    'Content-Type': contentTypeOf(name),
    'Content-Disposition': contentDisposition(name),
  };
  if (checkConditions(ctx.req.headers, st, read) === 'not-modified') return { status: 304, headers: { ETag: etag, 'Last-Modified': headers['Last-Modified']! } };
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
    headers['Content-Length'] = size;
    if (head) return { status: 200, headers };
    if (size <= SMALL) return { status: 200, headers, body: await readSmall(fd, size) };
    return { status: 200, headers, body: createReadStream('', { fd, highWaterMark: READ_CHUNK }) };
  }
  if (ranges.length === 1) {
    const r = ranges[0]!;
    headers['Content-Range'] = `bytes ${r.start}-${r.end}/${size}`;
    headers['Content-Length'] = r.end - r.start + 1;
    return { status: 206, headers, ...(head ? {} : { body: createReadStream('', { fd, start: r.start, end: r.end, highWaterMark: READ_CHUNK }) }) };
  }
  return multipart(fd, ranges, size, headers, head);
}

function multipart(fd: number, ranges: readonly Range[], size: number, headers: Record<string, string | number>, head: boolean): Reply {
  const boundary = randomBytes(12).toString('hex');
  const type = String(headers['Content-Type']);
  const partHead = (r: Range): string => `\r\n--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  let length = Buffer.byteLength(tail);
  for (const r of ranges) length += Buffer.byteLength(partHead(r)) + (r.end - r.start + 1);
  const out = { ...headers, 'Content-Type': `multipart/byteranges; boundary=${boundary}`, 'Content-Length': length };
  // Reads one at a time, each awaited before the next yield: the descriptor is closed (when the
  // body ends or is destroyed, started or not) with no read in flight.
  let closed = false;
  const done = (): void => {
    if (closed) return;
    closed = true;
    closeFd(fd);
  };
  async function* parts(): AsyncGenerator<Buffer> {
    try {
      for (const r of ranges) {
        yield Buffer.from(partHead(r));
        for (let at = r.start; at <= r.end; ) {
          const want = Math.min(READ_CHUNK, r.end - at + 1);
          const buf = Buffer.allocUnsafe(want);
          const n = await new Promise<number>((resolve, reject) => fsRead(fd, buf, 0, want, at, (err, got) => (err ? reject(err) : resolve(got))));
          if (n === 0) throw new Error('the file was shortened while it was being sent');
          at += n;
          yield buf.subarray(0, n);
        }
      }
      yield Buffer.from(tail);
    } finally {
      done();
    }
  }
  if (head) return { status: 206, headers: out };
  const body = Readable.from(parts());
  body.once('close', done);
  return { status: 206, headers: out, body };
}
