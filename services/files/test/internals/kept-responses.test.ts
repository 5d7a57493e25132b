/**
 * White-box tests of the kept listing responses: which requests' responses are made from stats
 * alone; nothing is kept from a folder's first listing; a response is given again only for stats
 * equal in every field it is made from, to a listing asking the same; room is made by
 * dropping the folders listed least recently (folders listed once included), and a folder alone
 * larger than the bound keeps what fits; a listing walked to its end drops the members it did not
 * meet; the bytes counted follow all of it.
 */
import type { Stats } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENTRY_OVERHEAD, FOLDER_OVERHEAD, KeptResponses, type KeptFolder } from '../../dist/kept-responses.js';
import { statsOnlyRequest } from '../../dist/props.js';

/** Stats with the fields a kept response is made from (a regular file's mode). */
function stats(fields: Partial<Pick<Stats, 'ino' | 'size' | 'mtimeMs' | 'ctimeMs' | 'birthtimeMs' | 'mode'>> = {}): Stats {
  return { ino: 7, size: 12, mtimeMs: 1_700_000_000_123.456, ctimeMs: 1_700_000_000_200.5, birthtimeMs: 1_600_000_000_000, mode: 0o100644, ...fields } as Stats;
}

const bytes = (n: number, fill = 'r'): Buffer => Buffer.alloc(n, fill);

/** The folder at `href` and a listing of it that keeps what it makes: its second. */
function keeping(kept: KeptResponses, href: string): [KeptFolder, number] {
  const folder = kept.folder(href, 'allprop');
  folder.begin();
  return [folder, folder.begin()];
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
    const folder = kept.folder('/share/once/', 'allprop');
    const first = folder.begin();
    expect(folder.keeps(first)).toBe(false);
    folder.set('a.txt', stats(), bytes(40), first);
    expect(folder.get('a.txt', stats(), first)).toBeUndefined();
    expect(kept.bytes).toBe(FOLDER_OVERHEAD);
    const second = folder.begin();
    expect(folder.keeps(second)).toBe(true);
    folder.set('a.txt', stats(), bytes(40), second);
    expect(folder.get('a.txt', stats(), second)).toBeDefined();
  });

  it('gives a response again only for stats equal in every field it is made from', () => {
    const kept = new KeptResponses();
    const [folder, listing] = keeping(kept, '/share/docs/');
    const response = bytes(40);
    folder.set('a.txt', stats(), response, listing);
    expect(folder.get('a.txt', stats(), listing)).toBe(response);
    expect(kept.folder('/share/docs/', 'allprop').get('a.txt', stats(), listing)).toBe(response);
    for (const changed of [{ ino: 8 }, { size: 13 }, { mtimeMs: 1_700_000_000_123.457 }, { ctimeMs: 1_700_000_001_200.5 }, { birthtimeMs: 0 }, { mode: 0o40755 }]) {
      expect(folder.get('a.txt', stats(changed), listing)).toBeUndefined();
    }
    expect(folder.get('b.txt', stats(), listing)).toBeUndefined();
    // Another folder's member of the same name is not this one, nor this one asked for other properties.
    expect(kept.folder('/share/other/', 'allprop').get('a.txt', stats(), listing)).toBeUndefined();
    expect(kept.folder('/share/docs/', 'prop\nDAV: getetag').get('a.txt', stats(), listing)).toBeUndefined();
    // Made again from new stats: that response replaces the old one.
    const remade = bytes(44, 's');
    folder.set('a.txt', stats({ size: 13 }), remade, listing);
    expect(folder.get('a.txt', stats({ size: 13 }), listing)).toBe(remade);
    expect(folder.get('a.txt', stats(), listing)).toBeUndefined();
    expect(kept.bytes).toBe(44 + ENTRY_OVERHEAD + 3 * FOLDER_OVERHEAD);
  });

  it('makes room by dropping the folders listed least recently', () => {
    const each = 100 + ENTRY_OVERHEAD + FOLDER_OVERHEAD;
    const kept = new KeptResponses(3 * each);
    const [one, first] = keeping(kept, '/s/one/');
    one.set('x', stats(), bytes(100), first);
    const [two, second] = keeping(kept, '/s/two/');
    two.set('x', stats(), bytes(100), second);
    // Listed again: now more recent than two.
    expect(kept.folder('/s/one/', 'allprop')).toBe(one);
    const [three, third] = keeping(kept, '/s/three/');
    three.set('x', stats(), bytes(100), third);
    expect(kept.bytes).toBe(3 * each);
    three.set('y', stats(), bytes(100), third);
    expect(two.get('x', stats(), second)).toBeUndefined();
    expect(one.get('x', stats(), first)).toBeDefined();
    expect(three.get('y', stats(), third)).toBeDefined();
    // two, with its record and response, made room for y.
    expect(kept.bytes).toBe(2 * each + 100 + ENTRY_OVERHEAD);
    // A dropped folder keeps nothing more; listed again, it starts afresh.
    two.set('z', stats(), bytes(10), second);
    expect(two.size).toBe(0);
    expect(kept.folder('/s/two/', 'allprop')).not.toBe(two);
  });

  it('drops folders listed once, too, to bound their number', () => {
    const kept = new KeptResponses(10 * FOLDER_OVERHEAD);
    const first = kept.folder('/s/f0/', 'allprop');
    for (let i = 1; i < 100; i++) kept.folder(`/s/f${i}/`, 'allprop').begin();
    expect(kept.bytes).toBe(10 * FOLDER_OVERHEAD);
    // The least recently listed went first.
    expect(kept.folder('/s/f0/', 'allprop')).not.toBe(first);
  });

  it('keeps what fits of a folder larger than the bound', () => {
    const kept = new KeptResponses(2 * (100 + ENTRY_OVERHEAD) + FOLDER_OVERHEAD);
    const [folder, listing] = keeping(kept, '/s/big/');
    for (const name of ['a', 'b', 'c', 'd']) folder.set(name, stats(), bytes(100), listing);
    expect(folder.size).toBe(2);
    expect(folder.get('a', stats(), listing)).toBeDefined();
    expect(folder.get('c', stats(), listing)).toBeUndefined();
    expect(kept.bytes).toBe(2 * (100 + ENTRY_OVERHEAD) + FOLDER_OVERHEAD);
  });

  it('drops, when a listing has walked the folder to its end, the members it did not meet', () => {
    const kept = new KeptResponses();
    const [folder, first] = keeping(kept, '/s/f/');
    for (const name of ['a', 'b', 'c']) folder.set(name, stats(), bytes(10), first);
    const second = folder.begin();
    expect(folder.get('a', stats(), second)).toBeDefined();
    // b is gone; c changed and is made again.
    folder.set('c', stats({ size: 1 }), bytes(20), second);
    folder.end(second);
    expect(folder.size).toBe(2);
    expect(folder.get('b', stats(), second)).toBeUndefined();
    expect(folder.get('c', stats({ size: 1 }), second)).toBeDefined();
    expect(kept.bytes).toBe(10 + 20 + 2 * ENTRY_OVERHEAD + FOLDER_OVERHEAD);
    // What a listing that began later met stays when an earlier one ends.
    const third = folder.begin();
    expect(folder.get('a', stats(), third)).toBeDefined();
    folder.set('d', stats(), bytes(5), third);
    folder.end(second);
    expect(folder.get('d', stats(), third)).toBeDefined();
  });
});
