/**
 * Every reply the service makes goes through here: the `Reply` handlers return, the `DavError`
 * they throw (with the RFC 4918 precondition element when there is one), the mapping of file
 * system errors to statuses, and the one function that writes a reply to the wire.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { isDiskFull } from '@hearth/sqlite';
import { FileBody, sendFile } from './file-body.js';
import { MadeBody, sendMade } from './made-body.js';

export type ReplyBody = string | Buffer | MadeBody | FileBody;

export interface Reply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string | number | readonly string[]>>;
  readonly body?: ReplyBody;
}

/** A client-visible failure: status, a plain-text explanation, and an optional precondition. */
export class DavError extends Error {
  override readonly name = 'DavError';
  constructor(
    readonly status: number,
    message: string,
    /** RFC 4918 precondition/postcondition element (in DAV:), e.g. `lock-token-submitted`. */
    readonly condition?: string,
    /** Inner XML of the condition element (hrefs). */
    readonly conditionBody?: string,
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
  }
}

export const XML_TYPE = 'application/xml; charset=utf-8';
export const XML_DECL = '<?xml version="1.0" encoding="utf-8"?>\n';

export function errorReply(err: DavError): Reply {
  const headers: Record<string, string> = { ...err.headers };
  if (err.condition !== undefined) {
    headers['Content-Type'] = XML_TYPE;
    const inner = err.conditionBody ?? '';
    const cond = inner === '' ? `<D:${err.condition}/>` : `<D:${err.condition}>${inner}</D:${err.condition}>`;
    return { status: err.status, headers, body: `${XML_DECL}<D:error xmlns:D="DAV:">${cond}</D:error>\n` };
  }
  headers['Content-Type'] = 'text/plain; charset=utf-8';
  return { status: err.status, headers, body: `${err.message}\n` };
}

/** Statuses for file system errors (and a database's full disk); anything else is a fault of ours (500). */
export function fsError(err: unknown, what: string): DavError | undefined {
  // The file system's, or SQLite's writing one of the service's databases (properties, locks, quotas).
  if (isDiskFull(err)) return new DavError(507, `${what}: no space left`);
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return new DavError(404, `${what}: not found`);
    case 'ENOTDIR':
      return new DavError(409, `${what}: a parent is not a collection`);
    case 'EACCES':
    case 'EPERM':
      return new DavError(403, `${what}: permission denied by the file system`);
    case 'EEXIST':
      return new DavError(405, `${what}: already exists`);
    case 'ENAMETOOLONG':
      return new DavError(414, `${what}: name too long`);
    case 'EISDIR':
      return new DavError(409, `${what}: is a collection`);
    case 'ENOTEMPTY':
      return new DavError(409, `${what}: collection not empty`);
    case 'EXDEV':
      return new DavError(502, `${what}: on another device`);
    default:
      return undefined;
  }
}

/** Counts the body bytes handed to the socket, for the access log. */
export interface Meter {
  bytes: number;
}

/**
 * Write `reply`; a file's body and a body made as it is sent go out with back-pressure. Body bytes
 * are counted in `meter`. `keepAlive` is the `Keep-Alive` header's value, sent when the connection
 * is kept (`writeHead`).
 */
export async function sendReply(res: ServerResponse, reply: Reply, head: boolean, keepAlive: string, meter: Meter = { bytes: 0 }): Promise<void> {
  // One writeHead with every header: cheaper than a setHeader call each. The reply's headers are
  // copied only when Content-Length is to be added (they may be shared, as a file's are).
  const body = reply.body;
  const length = reply.headers?.['Content-Length'];
  const headers: Record<string, string | number | readonly string[]> =
    length !== undefined && (body === undefined || body instanceof FileBody || (body instanceof Buffer && body.length === length))
      ? (reply.headers as Record<string, string | number | readonly string[]>)
      : { ...reply.headers };
  const bodyless = reply.status === 204 || reply.status === 304;
  if (bodyless) {
    if (body !== undefined) void closeBody(body);
    writeHead(res, reply.status, headers, keepAlive);
    res.end();
    return;
  }
  if (body === undefined || (head && !(body instanceof MadeBody))) {
    if (body !== undefined) void closeBody(body);
    if (headers['Content-Length'] === undefined) headers['Content-Length'] = body === undefined ? 0 : lengthOf(body);
    writeHead(res, reply.status, headers, keepAlive);
    res.end();
    return;
  }
  if (body instanceof MadeBody) {
    // A HEAD's too: the GET's head, whose length is known only by making the body.
    const writeMadeHead = (length: number | undefined): void => writeHead(res, reply.status, length === undefined ? headers : { ...headers, 'Content-Length': length }, keepAlive);
    await sendMade(res, body, writeMadeHead, (n) => (meter.bytes += n), head);
    return;
  }
  if (body instanceof FileBody) {
    try {
      writeHead(res, reply.status, headers, keepAlive);
    } catch (err) {
      body.close();
      throw err;
    }
    await sendFile(res, body, (n) => (meter.bytes += n));
    return;
  }
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  if (headers['Content-Length'] !== buf.length) headers['Content-Length'] = buf.length;
  sendWhole(res, reply.status, headers, buf, keepAlive, meter);
}

/** Let go of a body that is not sent: a file's descriptor is closed, a made body's source returned. */
export async function closeBody(body: ReplyBody): Promise<void> {
  if (body instanceof FileBody) body.close();
  else if (body instanceof MadeBody) await body.close();
}

/** A reply whose body (if any) is in memory and whose headers are complete (Content-Length included). */
function sendWhole(res: ServerResponse, status: number, headers: Readonly<Record<string, string | number | readonly string[]>>, body: Buffer | undefined, keepAlive: string, meter: Meter): void {
  meter.bytes += sendListed(res, status, listsOf(headers, keepAlive), body);
}

/**
 * A reply's headers as the flat name/value lists `res.writeHead` takes: `plain` for a response
 * that closes its connection, `kept` with `Keep-Alive` for one that keeps it. Made once for
 * headers used again: a file's (`listsOf`) and a kept answer's (`cached-get.ts`).
 */
export interface HeaderLists {
  readonly plain: readonly string[];
  readonly kept: readonly string[];
}

export function headerLists(headers: Readonly<Record<string, string | number | readonly string[]>>, keepAlive: string): HeaderLists {
  const plain = flatList(headers);
  return { plain, kept: [...plain, 'Keep-Alive', keepAlive] };
}

/**
 * A complete reply with its headers listed already (`headerLists`); `body` undefined for a HEAD.
 * Returns the body bytes handed to the response.
 */
export function sendListed(res: ServerResponse, status: number, lists: HeaderLists, body: Buffer | undefined): number {
  writeLists(res, status, lists);
  if (body === undefined) {
    res.end();
    return 0;
  }
  res.end(body);
  return body.length;
}

/**
 * Whether an ended response is written out: all of it handed to its socket (to the kernel), none
 * of it left in Node's buffers. Node 20's and 22's `writableFinished` said so; from Node 24 on it
 * turns true with the 'finish' event only, a tick after `end()`, and so never right after it.
 */
export function writtenOut(res: ServerResponse): boolean {
  return res.writableEnded && res.writableLength === 0;
}

/** `res.writeHead` of the headers' lists (`listsOf`). */
function writeHead(res: ServerResponse, status: number, headers: Readonly<Record<string, string | number | readonly string[]>>, keepAlive: string): void {
  writeLists(res, status, listsOf(headers, keepAlive));
}

/**
 * `res.writeHead` with the headers as a flat name/value list: the same 4 KB response with its
 * headers as an object cost more CPU, 55 against 51 µs per request here (bench/files, five
 * alternating rounds). A response that keeps its connection also says for how long
 * (`Keep-Alive`): the server's connections keep no timer of Node's, which would send it
 * (`connections.ts`).
 */
function writeLists(res: ServerResponse, status: number, lists: HeaderLists): void {
  res.writeHead(status, (res.shouldKeepAlive ? lists.kept : lists.plain) as unknown as OutgoingHttpHeaders);
}

/** Lists of frozen header objects (a file's, built once per stats: methods/get.ts), with the `Keep-Alive` value they were made for. */
const listed = new WeakMap<object, HeaderLists & { readonly keepAlive: string }>();

/** The lists of `headers`: made once for a frozen (shared) header object, each time for a reply's own. */
function listsOf(headers: Readonly<Record<string, string | number | readonly string[]>>, keepAlive: string): HeaderLists {
  if (!Object.isFrozen(headers)) return headerLists(headers, keepAlive);
  let lists = listed.get(headers);
  if (lists?.keepAlive !== keepAlive) {
    lists = { ...headerLists(headers, keepAlive), keepAlive };
    listed.set(headers, lists);
  }
  return lists;
}

/** Names and values in turn, values as strings (a header of several values, once per value). */
function flatList(headers: Readonly<Record<string, string | number | readonly string[]>>): string[] {
  const list: string[] = [];
  for (const name of Object.keys(headers)) {
    const value = headers[name]!;
    if (typeof value === 'object') for (const v of value) list.push(name, v);
    else list.push(name, String(value));
  }
  return list;
}

/** The `Keep-Alive` header's value for a keep-alive time in ms (whole seconds, as Node gives it). */
export function keepAliveHint(keepAliveTimeout: number): string {
  return `timeout=${Math.floor(keepAliveTimeout / 1000)}`;
}

/** The length of a body known in advance: a string, bytes or a file. */
function lengthOf(body: string | Buffer | FileBody): number {
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof Buffer) return body.length;
  return body.length;
}

export const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  412: 'Precondition Failed',
  423: 'Locked',
  424: 'Failed Dependency',
  507: 'Insufficient Storage',
};

export function statusLine(status: number): string {
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Unknown'}`;
}
