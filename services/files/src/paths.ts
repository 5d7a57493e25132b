/**
 * Request paths. A URL path is split on `/` and each segment percent-decoded exactly once; a
 * segment that decodes to `.`, `..`, or holds `/` or NUL is refused, as is one holding a control
 * character no listing can name (`listableName`); names are normalised to NFC (macOS sends NFD),
 * and lengths are capped. The result is a list of plain names that can only ever be joined below
 * a share's folder: the only separator is `/` (a backslash is a character of a POSIX name, as
 * Apache and nginx on Unix take it). Hrefs are built back from names, percent-encoded.
 */
import { DavError } from './replies.js';

export interface PathLimits {
  readonly maxPathLength: number;
  readonly maxNameLength: number;
}

export interface ParsedPath {
  readonly segments: readonly string[];
  /** The URL named a collection (ended in `/`). */
  readonly trailingSlash: boolean;
}

/**
 * The control characters XML 1.0 cannot carry, even as a character reference: all below a space
 * but tab, line feed and carriage return. A name holding one could not be written in a PROPFIND
 * answer (`displayname`).
 */
const NOT_IN_XML = /[\x00-\x08\x0b\x0c\x0e-\x1f]/;

/**
 * Whether a name on disk is listed and served: every name but one holding a control character
 * XML cannot carry (a backslash, a tab or a line break is served as any other character). Such a
 * name is left out of every listing (`member-stats.ts`) and refused in a request (400), so a
 * client never sees a name it cannot fetch.
 */
export function listableName(name: string): boolean {
  return !NOT_IN_XML.test(name);
}

/** A segment of unreserved ASCII: the same before and after decoding and normalisation. */
const PLAIN_SEGMENT = /^[A-Za-z0-9._~-]+$/;

/** Split and check the path of a request target (`/a/b%20c/`), query removed. */
export function parsePath(raw: string, limits: PathLimits): ParsedPath {
  const q = raw.indexOf('?');
  const path = q >= 0 ? raw.slice(0, q) : raw;
  if (!path.startsWith('/')) throw new DavError(400, 'the request target must be an absolute path');
  if (path.includes('#')) throw new DavError(400, 'a fragment is not part of a request target');
  if (Buffer.byteLength(path) > limits.maxPathLength * 3) throw new DavError(414, 'path too long');
  const segments: string[] = [];
  let total = 0;
  for (const part of path.split('/')) {
    if (part === '') continue;
    if (PLAIN_SEGMENT.test(part)) {
      // Nothing to decode or normalise: only the dot segments and the lengths to check.
      if (part === '.' || part === '..') throw new DavError(400, 'dot segments are not allowed in paths');
      if (part.length > limits.maxNameLength) throw new DavError(414, `a name is longer than ${limits.maxNameLength} bytes`);
      total += part.length + 1;
      if (total > limits.maxPathLength) throw new DavError(414, `the path is longer than ${limits.maxPathLength} bytes`);
      segments.push(part);
      continue;
    }
    let name: string;
    try {
      name = decodeURIComponent(part);
    } catch {
      throw new DavError(400, 'bad percent-encoding in the path');
    }
    name = name.normalize('NFC');
    if (name === '.' || name === '..') throw new DavError(400, 'dot segments are not allowed in paths');
    if (/[/\0]/.test(name)) throw new DavError(400, 'a path segment holds a slash or NUL');
    if (!listableName(name)) throw new DavError(400, 'a path segment holds a control character other than tab, line feed or carriage return');
    const len = Buffer.byteLength(name);
    if (len > limits.maxNameLength) throw new DavError(414, `a name is longer than ${limits.maxNameLength} bytes`);
    total += len + 1;
    if (total > limits.maxPathLength) throw new DavError(414, `the path is longer than ${limits.maxPathLength} bytes`);
    segments.push(name);
  }
  return { segments, trailingSlash: path.endsWith('/') };
}

const NON_ASCII = /[^\x00-\x7f]/;
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A header value as the text its bytes spell in UTF-8. Node gives header values as Latin-1 (one
 * character per byte); a client that sends a URL without percent-encoding it (a Destination of
 * `/files/café`) sends its UTF-8 bytes, which Apache reads as UTF-8. ASCII is the same text either
 * way; bytes that are not valid UTF-8 are 400, naming the header.
 */
export function utf8Header(value: string, name: string): string {
  if (!NON_ASCII.test(value)) return value;
  try {
    return STRICT_UTF8.decode(Buffer.from(value, 'latin1'));
  } catch {
    throw new DavError(400, `the ${name} header is neither percent-encoded nor valid UTF-8`);
  }
}

/** The path part of a Destination (or If resource tag): an absolute URL or an absolute path. */
export function pathOfUrl(value: string, host: string | undefined): { path: string; sameHost: boolean } {
  if (value.startsWith('/')) return { path: value, sameHost: true };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new DavError(400, 'Destination is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DavError(502, 'Destination is on another server');
  const sameHost = host !== undefined && url.host.toLowerCase() === host.toLowerCase();
  // URL parsing resolves dot segments: refuse them on the raw value instead.
  const rawPath = value.replace(/^[a-z]+:\/\/[^/]*/i, '') || '/';
  return { path: rawPath, sameHost };
}

const KEEP = /[A-Za-z0-9\-._~!$&'()*+,;=:@]/;
const PLAIN = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]*$/;

/** Percent-encode one name for an href. */
export function encodeName(name: string): string {
  if (PLAIN.test(name)) return name;
  let out = '';
  for (const ch of name) out += KEEP.test(ch) ? ch : encodeURIComponent(ch).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return out;
}

/**
 * An href as XML character data. `encodeName` percent-encodes `<`, `>` and `"` but keeps `&` (a
 * sub-delimiter, as Apache's `ap_escape_uri` keeps it), so `&` is the one character of an href that
 * XML needs escaped. It is escaped as `&amp;`, as mod_dav writes it, not percent-encoded: the href a
 * client parses is then the same text as the URL it sent with `&` in it. Most hrefs have none: one
 * `includes` and the same string back, for each member of a listing.
 */
export function xmlHref(href: string): string {
  return href.includes('&') ? href.replaceAll('&', '&amp;') : href;
}

export function hrefOf(segments: readonly string[], collection: boolean): string {
  const joined = segments.map(encodeName).join('/');
  if (segments.length === 0) return '/';
  return `/${joined}${collection ? '/' : ''}`;
}
