/**
 * XML in and out. Request bodies are fed to saxes chunk by chunk as they arrive, with a byte cap,
 * a depth cap and an element cap; a DOCTYPE is refused outright (so there is no DTD, no external
 * entity and no entity expansion: saxes knows only the five predefined entities and fails on any
 * other), and any well-formedness error is a `DavError` 400. Out: escaping and the serialisation
 * of dead property values, each element carrying its own namespace declaration so a stored
 * fragment is self-contained.
 */
import type { IncomingMessage } from 'node:http';
import { TextDecoder } from 'node:util';
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { DavError } from './replies.js';

export const DAV = 'DAV:';

export interface XmlElement {
  readonly ns: string;
  readonly local: string;
  readonly attrs: ReadonlyArray<{ readonly ns: string; readonly local: string; readonly value: string }>;
  readonly children: Array<XmlElement | string>;
}

const MAX_DEPTH = 64;
const MAX_ELEMENTS = 20_000;

/**
 * Parse the XML body of request `stream`, refusing more than `maxBytes`. An empty body gives
 * undefined. A request that declares none (neither Content-Length nor Transfer-Encoding, RFC 9112
 * 6.3, or a Content-Length of 0) is not read: Node reads what is left of a request once its
 * response is done. Nor is one already read to its end, which emits nothing more: the file
 * service's server hands over a request without a body that way (`optimizeEmptyRequests`,
 * `server.ts`).
 */
export async function readXml(stream: IncomingMessage, maxBytes: number): Promise<XmlElement | undefined> {
  if (stream.readableEnded || declaresNoBody(stream)) return undefined;
  const parser = new SaxesParser({ xmlns: true });
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let elements = 0;
  let bytes = 0;
  let failure: DavError | undefined = undefined as DavError | undefined;
  const fail = (message: string): never => {
    throw new DavError(400, `malformed XML body: ${message}`);
  };
  parser.on('error', (err) => fail(err.message.replace(/^[^:]*:\d+:\d+: /, '')));
  parser.on('doctype', () => fail('a DOCTYPE is not allowed'));
  parser.on('opentag', (tag: SaxesTagNS) => {
    if (stack.length >= MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    if (++elements > MAX_ELEMENTS) fail(`more than ${MAX_ELEMENTS} elements`);
    const attrs = Object.values(tag.attributes)
      .filter((a) => a.prefix !== 'xmlns' && a.name !== 'xmlns')
      .map((a) => ({ ns: a.uri, local: a.local, value: a.value }));
    const el: XmlElement = { ns: tag.uri, local: tag.local, attrs, children: [] };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(el);
    else root = el;
    stack.push(el);
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  const onText = (text: string): void => {
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(text);
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  await new Promise<void>((resolve) => {
    const onData = (buf: Buffer): void => {
      if (failure) return;
      try {
        bytes += buf.length;
        if (bytes > maxBytes) throw new DavError(413, `XML body larger than ${maxBytes} bytes`);
        parser.write(decode(decoder, buf, true));
      } catch (err) {
        failure = err instanceof DavError ? err : new DavError(400, 'malformed XML body');
        resolve();
      }
    };
    stream.on('data', onData);
    stream.once('end', () => resolve());
    stream.once('error', () => {
      failure ??= new DavError(400, 'request body failed');
      resolve();
    });
  });
  if (failure) throw failure;
  if (bytes === 0) return undefined;
  try {
    parser.write(decode(decoder, undefined, false));
    parser.close();
  } catch (err) {
    throw err instanceof DavError ? err : new DavError(400, 'malformed XML body');
  }
  if (root === undefined) throw new DavError(400, 'malformed XML body: no root element');
  return root;
}

function declaresNoBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0');
}

function decode(decoder: InstanceType<typeof TextDecoder>, buf: Buffer | undefined, more: boolean): string {
  try {
    return decoder.decode(buf, { stream: more });
  } catch {
    throw new DavError(400, 'malformed XML body: not UTF-8');
  }
}

/** Child elements of `el` (text dropped). */
export function elements(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== 'string');
}

export function child(el: XmlElement, ns: string, local: string): XmlElement | undefined {
  return elements(el).find((c) => c.ns === ns && c.local === local);
}

export function textOf(el: XmlElement): string {
  return el.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}

export function is(el: XmlElement | undefined, ns: string, local: string): boolean {
  return el !== undefined && el.ns === ns && el.local === local;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#13;' };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"'\r]/g, (c) => ESCAPES[c]!);
}

/** `<name xmlns="ns">` for a property element (the empty namespace too). */
export function openTag(ns: string, local: string, attrs = ''): string {
  if (ns === DAV) return `<D:${local}${attrs}>`;
  return `<${local} xmlns="${escapeXml(ns)}"${attrs}>`;
}

export function closeTag(ns: string, local: string): string {
  return ns === DAV ? `</D:${local}>` : `</${local}>`;
}

export function emptyTag(ns: string, local: string): string {
  if (ns === DAV) return `<D:${local}/>`;
  return `<${local} xmlns="${escapeXml(ns)}"/>`;
}

/** The content of `el` as self-contained XML (each element declares its own namespace). */
export function serializeChildren(el: XmlElement): string {
  return el.children.map((c) => (typeof c === 'string' ? escapeXml(c) : serializeElement(c))).join('');
}

function serializeElement(el: XmlElement): string {
  let prefixes = 0;
  const attrs = el.attrs
    .map((a) => {
      if (a.ns === '') return ` ${a.local}="${escapeXml(a.value)}"`;
      if (a.ns === 'http://www.w3.org/XML/1998/namespace') return ` xml:${a.local}="${escapeXml(a.value)}"`;
      const p = `a${prefixes++}`;
      return ` xmlns:${p}="${escapeXml(a.ns)}" ${p}:${a.local}="${escapeXml(a.value)}"`;
    })
    .join('');
  const open = `<${el.local} xmlns="${escapeXml(el.ns)}"${attrs}`;
  if (el.children.length === 0) return `${open}/>`;
  return `${open}>${serializeChildren(el)}</${el.local}>`;
}
