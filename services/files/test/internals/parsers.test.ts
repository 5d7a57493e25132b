/** White-box tests of the header and path parsers. */
import { describe, expect, it } from 'vitest';
import { parseIf, submittedTokens } from '../../dist/if-header.js';
import { parsePath, hrefOf } from '../../dist/paths.js';
import { parseRanges, contentDisposition } from '../../dist/methods/get.js';
import { lockTimeout } from '../../dist/methods/lock.js';
import { checkConditions } from '../../dist/conditional.js';
import { etagOf } from '../../dist/resource.js';

const limits = { maxPathLength: 4096, maxNameLength: 255 };

describe('If header', () => {
  it('parses untagged and tagged lists with Not and entity tags', () => {
    expect(parseIf('(<urn:uuid:1> ["e1"]) (Not <DAV:no-lock>)')).toEqual([
      { resource: undefined, conditions: [{ not: false, kind: 'token', value: 'urn:uuid:1' }, { not: false, kind: 'etag', value: '"e1"' }] },
      { resource: undefined, conditions: [{ not: true, kind: 'token', value: 'DAV:no-lock' }] },
    ]);
    const tagged = parseIf('<http://h/a> (<urn:uuid:2>) <http://h/b> (["x"])');
    expect(tagged.map((l) => l.resource)).toEqual(['http://h/a', 'http://h/b']);
    expect([...submittedTokens(tagged)]).toEqual(['urn:uuid:2']);
  });

  it('refuses malformed headers with 400', () => {
    for (const bad of ['', '<urn:x>', '()', '(<urn:x>', '(urn:x)', '(<a>) <http://h/> (<b>)']) {
      expect(() => parseIf(bad), bad).toThrow(expect.objectContaining({ status: 400 }));
    }
  });
});

describe('paths', () => {
  it('decodes once, normalises to NFC and rebuilds hrefs', () => {
    expect(parsePath('/a/b%20c/%252e/', limits)).toEqual({ segments: ['a', 'b c', '%2e'], trailingSlash: true });
    expect(parsePath('/x/Cafe%CC%81?q=1', limits).segments).toEqual(['x', 'Caf\u00e9']);
    expect(hrefOf(['a b', 'c#d', 'é'], true)).toBe('/a%20b/c%23d/%C3%A9/');
  });

  it('takes a backslash, a tab and line breaks as characters of a name, never as separators', () => {
    expect(parsePath('/a/..%5c..%5cb/c%09d%0a%0d%7f', limits).segments).toEqual(['a', '..\\..\\b', 'c\td\n\r\x7f']);
  });

  it('refuses dot segments, slashes, NUL, control characters XML cannot carry and bad encodings', () => {
    for (const bad of ['/a/../b', '/a/%2E%2e', '/a/b%2fc', '/a/b%00', '/a/%07', '/a/b%0bc', '/a/%1f', '/a/%zz', 'a/b', '/a#frag']) {
      expect(() => parsePath(bad, limits), bad).toThrow(expect.objectContaining({ status: 400 }));
    }
  });
});

describe('ranges and headers', () => {
  it('parses byte ranges within the size', () => {
    expect(parseRanges('bytes=0-9', 100)).toEqual([{ start: 0, end: 9 }]);
    expect(parseRanges('bytes=-10', 100)).toEqual([{ start: 90, end: 99 }]);
    expect(parseRanges('bytes=95-', 100)).toEqual([{ start: 95, end: 99 }]);
    expect(parseRanges('bytes=0-0,50-200', 100)).toEqual([{ start: 0, end: 0 }, { start: 50, end: 99 }]);
    expect(parseRanges('items=0-1', 100)).toBeUndefined();
    expect(parseRanges('bytes=5-1', 100)).toBeUndefined();
    expect(() => parseRanges('bytes=200-300', 100)).toThrow(expect.objectContaining({ status: 416 }));
    // Ignored when they ask for more than the file (overlaps) or for more than 64 ranges.
    expect(parseRanges('bytes=0-49,50-99', 100)).toEqual([{ start: 0, end: 49 }, { start: 50, end: 99 }]);
    expect(parseRanges('bytes=0-,0-', 100)).toBeUndefined();
    expect(parseRanges('bytes=0-60,40-99', 100)).toBeUndefined();
    expect(parseRanges(`bytes=${Array.from({ length: 64 }, (_, i) => `${i}-${i}`).join(',')}`, 100)).toHaveLength(64);
    expect(parseRanges(`bytes=${Array.from({ length: 65 }, (_, i) => `${i}-${i}`).join(',')}`, 100)).toBeUndefined();
  });

  it('caps lock timeouts and formats Content-Disposition', () => {
    expect(lockTimeout('Second-60', 3600_000)).toBe(60_000);
    expect(lockTimeout('Infinite, Second-4100000000', 3600_000)).toBe(3600_000);
    expect(lockTimeout('Second-99999999', 3600_000)).toBe(3600_000);
    expect(lockTimeout(undefined, 1000)).toBe(1000);
    expect(contentDisposition('notes 2024.txt')).toBe('attachment; filename="notes 2024.txt"');
    expect(contentDisposition('100%.txt')).toBe('attachment; filename="100_.txt"; filename*=UTF-8\'\'100%25.txt');
    expect(contentDisposition('résumé "1".pdf')).toBe('attachment; filename="r_sum_ _1_.pdf"; filename*=UTF-8\'\'r%C3%A9sum%C3%A9%20%221%22.pdf');
  });

  it('evaluates conditional headers in RFC 7232 order', () => {
    const st = { ino: 1, size: 2, mtimeMs: 1_000_000_000_000 } as import('node:fs').Stats;
    const etag = etagOf(st);
    expect(etag).toBe('"1-2-38d7ea4c68000"');
    expect(checkConditions({ 'if-none-match': etag }, st, true)).toBe('not-modified');
    expect(() => checkConditions({ 'if-none-match': '*' }, st, false)).toThrow(expect.objectContaining({ status: 412 }));
    expect(() => checkConditions({ 'if-match': '"other"' }, st, false)).toThrow(expect.objectContaining({ status: 412 }));
    expect(checkConditions({ 'if-match': etag }, st, false)).toBe('go');
    expect(() => checkConditions({ 'if-match': '*' }, undefined, false)).toThrow(expect.objectContaining({ status: 412 }));
    expect(checkConditions({ 'if-modified-since': new Date(1_000_000_000_000).toUTCString() }, st, true)).toBe('not-modified');
  });
});
