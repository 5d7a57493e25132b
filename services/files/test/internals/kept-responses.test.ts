/**
 * White-box tests of the kept listing responses: which requests' responses are made from stats
 * alone; nothing is kept from a folder's first listing; a response is given again, byte for byte,
 * only for stats equal in every field it is made from, to a listing asking the same; responses made
 * again and members gone leave the folder's buffer written anew, each response still right; room is
 * made by dropping the folders listed least recently (folders listed once included), and a folder
 * alone larger than the bound keeps what fits; the bytes counted follow all of it.
 */
import type { Stats } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENTRY_OVERHEAD, FOLDER_OVERHEAD, KeptResponses, type KeptFolder, type KeptListing } from '../../dist/kept-responses.js';
import { statsOnlyRequest } from '../../dist/props.js';
import { Utf8Chunks } from '../../dist/utf8-chunks.js';

/** Stats with the fields a kept response is made from (a regular file's mode). */
function stats(fields: Partial<Pick<Stats, 'ino' | 'size' | 'mtimeMs' | 'ctimeMs' | 'birthtimeMs' | 'mode'>> = {}): Stats {
  return { ino: 7, size: 12, mtimeMs: 1_700_000_000_123.456, ctimeMs: 1_700_000_000_200.5, birthtimeMs: 1_600_000_000_000, mode: 0o100644, ...fields } as Stats;
}

/** A folder's first buffer: what keeping its first response counts. */
const FIRST_SLAB = 64 * 1024;

/** The folder at `href` and a listing of it that keeps what it makes: its second. */
function keeping(kept: KeptResponses, href: string): [KeptFolder, KeptListing] {
  const folder = kept.folder('/srv', href, 'allprop');
  folder.begin();
  return [folder, folder.begin()];
}

/** What a listing sends for the member `name`: its kept response, or undefined when none is kept for `st`. */
function sent(listing: KeptListing, name: string, st: Stats): string | undefined {
  const out = new Utf8Chunks(16);
  return listing.send(name, st, out) ? out.take().toString('utf8') : undefined;
}

/** `listing.keep` of `text`: what it appended. */
function keep(listing: KeptListing, name: string, st: Stats, text: string): string {
  const out = new Utf8Chunks(16);
  listing.keep(name, st, text, out);
  return out.take().toString('utf8');
}

describe('statsOnlyRequest', () => {
  const DAV = 'DAV:';
  it('names allprop without include and lists of names without the quota ones, each by what it asks', () => {
    expect(statsOnlyRequest({ kind: 'allprop', include: [] })).toBe('allprop');
    const finder = statsOnlyRequest({ kind: 'prop', names: [{ ns: DAV, name: 'getlastmodified' }, { ns: DAV, name: 'getcontentlength' }, { ns: DAV, name: 'resourcetype' }] });
    expect(finder).toBe('prop\nDAV: getlastmodified\nDAV: getcontentlength\nDAV: resourcetype');
    expect(statsOnlyRequest({ kind: 'prop', names: [{ ns: DAV, name: 'getcontentlength' }, { ns: DAV, name: 'getlastmodified' }, { ns: DAV, name: 'resourcetype' }] })).not.toBe(finder);
    expect(statsOnlyRequest({ kind: 'prop', names: [{ ns: 'urn:schemas-microsoft-com:', name: 'Win32FileAttributes' }] })).toBe('prop\nurn:schemas-microsoft-com: Win32FileAttributes');
  });

  it('gives nothing for propname, allprop with include and the quota properties', () => {
    expect(statsOnlyRequest({ kind: 'propname' })).toBeUndefined();
    expect(statsOnlyRequest({ kind: 'allprop', include: [{ ns: DAV, name: 'quota-used-bytes' }] })).toBeUndefined();
    expect(statsOnlyRequest({ kind: 'prop', names: [{ ns: DAV, name: 'getetag' }, { ns: DAV, name: 'quota-available-bytes' }] })).toBeUndefined();
  });
});

describe('KeptResponses', () => {
  it("keeps nothing from a folder's first listing", () => {
    const kept = new KeptResponses();
    const folder = kept.folder('/srv', '/share/once/', 'allprop');
    const first = folder.begin();
    expect(keep(first, 'a.txt', stats(), '<a/>')).toBe('<a/>');
    expect(sent(first, 'a.txt', stats())).toBeUndefined();
    expect(kept.bytes).toBe(FOLDER_OVERHEAD);
    const second = folder.begin();
    expect(keep(second, 'a.txt', stats(), '<a/>')).toBe('<a/>');
    expect(sent(second, 'a.txt', stats())).toBe('<a/>');
    expect(kept.bytes).toBe(FOLDER_OVERHEAD + FIRST_SLAB + ENTRY_OVERHEAD);
  });

  it('gives a response again, byte for byte, only for stats equal in every field it is made from', () => {
    const kept = new KeptResponses();
    const [folder, listing] = keeping(kept, '/share/docs/');
    keep(listing, 'a.txt', stats(), '<r>Grüße 🎵 a</r>');
    keep(listing, 'b.txt', stats({ ino: 9 }), '<r>b</r>');
    expect(sent(listing, 'a.txt', stats())).toBe('<r>Grüße 🎵 a</r>');
    expect(sent(folder.begin(), 'b.txt', stats({ ino: 9 }))).toBe('<r>b</r>');
    for (const changed of [{ ino: 8 }, { size: 13 }, { mtimeMs: 1_700_000_000_123.457 }, { ctimeMs: 1_700_000_001_200.5 }, { birthtimeMs: 0 }, { mode: 0o40755 }]) {
      expect(sent(listing, 'a.txt', stats(changed))).toBeUndefined();
    }
    expect(sent(listing, 'c.txt', stats())).toBeUndefined();
    // Another folder's member of the same name is not this one, nor this one asked for other properties.
    expect(sent(kept.folder('/srv', '/share/other/', 'allprop').begin(), 'a.txt', stats())).toBeUndefined();
    expect(sent(kept.folder('/srv', '/share/docs/', 'prop\nDAV: getetag').begin(), 'a.txt', stats())).toBeUndefined();
    // Nor the folder of another place on disk at the same href (each user's /home/).
    const elsewhere = kept.folder('/data/files/home/bob', '/share/docs/', 'allprop');
    expect(elsewhere).not.toBe(folder);
    expect(sent(elsewhere.begin(), 'a.txt', stats())).toBeUndefined();
    expect(kept.folder('/srv', '/share/docs/', 'allprop')).toBe(folder);
    // Made again from new stats: that response replaces the old one.
    keep(listing, 'a.txt', stats({ size: 13 }), '<r>a, longer</r>');
    expect(sent(listing, 'a.txt', stats({ size: 13 }))).toBe('<r>a, longer</r>');
    expect(sent(listing, 'a.txt', stats())).toBeUndefined();
    expect(folder.size).toBe(2);
  });

  it('sends responses met in the order they were kept, and others, each whole', () => {
    const kept = new KeptResponses();
    const [, listing] = keeping(kept, '/share/run/');
    const texts = Array.from({ length: 50 }, (_, i) => `<r>${'x'.repeat(i)}${i}</r>`);
    texts.forEach((t, i) => keep(listing, `m${i}`, stats({ ino: i }), t));
    const out = new Utf8Chunks(16);
    // In order, then out of order, with text of the listing's own between.
    for (let i = 0; i < 50; i++) expect(listing.send(`m${i}`, stats({ ino: i }), out)).toBe(true);
    out.append('<own/>');
    for (const i of [7, 3, 4, 5, 49, 0]) listing.send(`m${i}`, stats({ ino: i }), out);
    expect(out.take().toString('utf8')).toBe(`${texts.join('')}<own/>${[7, 3, 4, 5, 49, 0].map((i) => texts[i]).join('')}`);
  });

  it('writes its buffer anew once more of it is old responses than kept ones, each response still right', () => {
    const kept = new KeptResponses();
    const folder = kept.folder('/srv', '/share/churn/', 'allprop');
    folder.begin();
    const text = (i: number, round: number): string => `<r>${i} round ${round} ${'w'.repeat(1000)}</r>`;
    let listing = folder.begin();
    for (let i = 0; i < 100; i++) keep(listing, `m${i}`, stats({ ino: i }), text(i, 0));
    listing.end();
    const live = Array.from({ length: 100 }, (_, i) => Buffer.byteLength(text(i, 0))).reduce((a, b) => a + b);
    // Made again, listing after listing: the old bytes pile up until, at a listing's end, they are more than the kept ones.
    for (const round of [1, 2]) {
      listing = folder.begin();
      for (let i = 0; i < 100; i++) keep(listing, `m${i}`, stats({ ino: i, size: round }), text(i, round));
      listing.end();
      expect(kept.bytes > FOLDER_OVERHEAD + live + 100 * ENTRY_OVERHEAD).toBe(round === 1);
    }
    // Written anew: the responses kept and the bookkeeping.
    expect(kept.bytes).toBe(FOLDER_OVERHEAD + live + 100 * ENTRY_OVERHEAD);
    const after = folder.begin();
    const out = new Utf8Chunks(16);
    for (let i = 0; i < 100; i++) expect(after.send(`m${i}`, stats({ ino: i, size: 2 }), out)).toBe(true);
    expect(out.take().toString('utf8')).toBe(Array.from({ length: 100 }, (_, i) => text(i, 2)).join(''));
  });

  it('drops, when a listing has walked the folder to its end, the members it did not meet', () => {
    const kept = new KeptResponses();
    const [folder, first] = keeping(kept, '/s/f/');
    for (const name of ['a', 'b', 'c']) keep(first, name, stats(), `<${name}/>`);
    const second = folder.begin();
    expect(sent(second, 'a', stats())).toBe('<a/>');
    // b is gone; c changed and is made again.
    keep(second, 'c', stats({ size: 1 }), '<c changed/>');
    // A listing begun meanwhile, which ends after: what it meets stays.
    const third = folder.begin();
    keep(third, 'd', stats(), '<d/>');
    second.end();
    expect(folder.size).toBe(3);
    expect(sent(third, 'b', stats())).toBeUndefined();
    expect(sent(third, 'c', stats({ size: 1 }))).toBe('<c changed/>');
    expect(sent(third, 'd', stats())).toBe('<d/>');
    third.end();
    expect(folder.size).toBe(2);
    expect(kept.bytes).toBe(FOLDER_OVERHEAD + FIRST_SLAB + 2 * ENTRY_OVERHEAD);
  });

  it('makes room by dropping the folders listed least recently', () => {
    const each = FOLDER_OVERHEAD + FIRST_SLAB + ENTRY_OVERHEAD;
    const kept = new KeptResponses(3 * each);
    const [one, first] = keeping(kept, '/s/one/');
    keep(first, 'x', stats(), '<x/>');
    const [two, second] = keeping(kept, '/s/two/');
    keep(second, 'x', stats(), '<x/>');
    // Listed again: now more recent than two.
    expect(kept.folder('/srv', '/s/one/', 'allprop')).toBe(one);
    const [, third] = keeping(kept, '/s/three/');
    keep(third, 'x', stats(), '<x/>');
    expect(kept.bytes).toBe(3 * each);
    keep(third, 'y', stats(), '<y/>');
    // two, with its buffer and its member, made room for y.
    expect(sent(second, 'x', stats())).toBeUndefined();
    expect(two.size).toBe(0);
    expect(sent(first, 'x', stats())).toBe('<x/>');
    expect(sent(third, 'y', stats())).toBe('<y/>');
    expect(kept.bytes).toBe(each + FOLDER_OVERHEAD + FIRST_SLAB + 2 * ENTRY_OVERHEAD);
    // A dropped folder keeps nothing more (what it is given is still sent); listed again, it starts afresh.
    expect(keep(second, 'z', stats(), '<z/>')).toBe('<z/>');
    expect(two.size).toBe(0);
    expect(kept.folder('/srv', '/s/two/', 'allprop')).not.toBe(two);
  });

  it('drops folders listed once, too, to bound their number', () => {
    const kept = new KeptResponses(10 * FOLDER_OVERHEAD);
    const first = kept.folder('/srv', '/s/f0/', 'allprop');
    for (let i = 1; i < 100; i++) kept.folder('/srv', `/s/f${i}/`, 'allprop').begin();
    expect(kept.bytes).toBe(10 * FOLDER_OVERHEAD);
    // The least recently listed went first.
    expect(kept.folder('/srv', '/s/f0/', 'allprop')).not.toBe(first);
  });

  it('keeps what fits of a folder larger than the bound, and sends the rest as made', () => {
    const kept = new KeptResponses(FOLDER_OVERHEAD + FIRST_SLAB + 10 * ENTRY_OVERHEAD);
    const [folder, listing] = keeping(kept, '/s/big/');
    const text = (i: number): string => `<r>${i}${'z'.repeat(10_000)}</r>`;
    for (let i = 0; i < 6; i++) expect(keep(listing, `m${i}`, stats({ ino: i }), text(i))).toBe(text(i));
    // A first buffer, which holds four with room for the worst case of each (three bytes a character).
    expect(folder.size).toBe(4);
    expect(sent(listing, 'm3', stats({ ino: 3 }))).toBe(text(3));
    expect(sent(listing, 'm4', stats({ ino: 4 }))).toBeUndefined();
    expect(kept.bytes).toBe(FOLDER_OVERHEAD + FIRST_SLAB + 4 * ENTRY_OVERHEAD);
  });
});
