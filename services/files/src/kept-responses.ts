/**
 * The PROPFIND responses a listing made for its members, kept as the UTF-8 bytes it sent, by the
 * listed folder (on disk and by href), the properties asked and the member's name, and sent again by the next
 * listing of that folder asking the same for every member whose stats have not changed: a client
 * that lists a folder again (a file manager does so whenever it shows it) costs its stat calls and
 * a copy instead of a rendering.
 *
 * Only responses made from nothing but the member's href (the folder's href and its name) and
 * these fields of its stats are kept: `ino`, `size` and `mtimeMs` (its ETag, length and
 * `getlastmodified`), `ctimeMs` and `birthtimeMs` (`creationdate`) and `mode` (file or folder).
 * Those are the responses to allprop without `include` and to lists of property names without the
 * quota ones (`props.ts`'s `statsOnlyRequest`), for a member with no dead property and no lock in
 * or over its folder; the caller decides which members qualify (`propfind.ts`). A kept response is
 * given only when all of those fields are equal to the member's stats of this listing, so it is
 * always the response this listing would make: nothing has to clear it when a file changes, and
 * the listing's own stat call is the check.
 *
 * A folder keeps its members' responses one after the other in one buffer (`#slab`) and their
 * stats in a typed array, so that what it keeps is a few objects, not several per member, for the
 * garbage collector to carry; responses met in the order they were kept are sent as one slice of
 * that buffer (`Utf8Chunks.appendSlice`). A response made again leaves its old bytes unused; once
 * more of the buffer is unused than used, the folder's next complete listing writes it anew.
 *
 * Responses are kept from a folder's second listing on: a folder listed once (as a sync tool walking
 * a tree lists each) costs no more than it did. Bounded in bytes (`maxBytes`: each folder counted
 * with its buffer, `FOLDER_OVERHEAD` and `ENTRY_OVERHEAD` per member kept): room is made by dropping
 * the folders listed least recently; a folder alone larger than the bound keeps what fits. A listing
 * that walks a folder to its end drops what it did not meet (members gone since).
 */
import type { Stats } from 'node:fs';
import type { Utf8Chunks } from './utf8-chunks.js';

/** Bytes counted for a member kept besides its response: its place in the map, its name, its fields. */
export const ENTRY_OVERHEAD = 128;

/** Bytes counted for a folder's record: its href, its maps and arrays, its place in the map of folders. */
export const FOLDER_OVERHEAD = 1024;

export const DEFAULT_KEPT_BYTES = 32 * 1024 * 1024;

/** A member's fields in `#fields`: the six its response is made from, then where its bytes are. */
const INO = 0;
const SIZE = 1;
const MTIME = 2;
const CTIME = 3;
const BIRTHTIME = 4;
const MODE = 5;
const AT = 6;
const LENGTH = 7;
const FIELDS = 8;

/** The first size of a folder's buffer. */
const FIRST_SLAB = 64 * 1024;

export class KeptResponses {
  /** Folders by href and what is asked, the one listed least recently first. */
  readonly #folders = new Map<string, KeptFolder>();
  #bytes = 0;

  constructor(readonly maxBytes: number = DEFAULT_KEPT_BYTES) {}

  /** Bytes counted for what is kept: the folders' records and buffers and the members kept. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * The responses kept for the folder `dir` (its path on disk) listed at `href` when `asked`
   * (`statsOnlyRequest`) is asked, now the most recently listed. Both count: each user's private
   * folder has the href `/home/`, and users listing theirs in turn must not take turns replacing
   * one folder's responses, which costs each keeping listing a quarter to a half more time.
   */
  folder(dir: string, href: string, asked: string): KeptFolder {
    const key = `${dir}\n${href}\n${asked}`;
    let folder = this.#folders.get(key);
    if (folder !== undefined) {
      this.#folders.delete(key);
      this.#folders.set(key, folder);
      return folder;
    }
    folder = new KeptFolder(this);
    this.#folders.set(key, folder);
    this.#bytes += FOLDER_OVERHEAD;
    // No room even for its record (a bound smaller than that): it keeps nothing.
    if (!this.room(folder, 0)) {
      folder.drop();
      this.#folders.delete(key);
    }
    return folder;
  }

  /** Whether `bytes` more may be kept for `folder`, after dropping folders listed less recently (for `KeptFolder`). */
  room(folder: KeptFolder, bytes: number): boolean {
    if (this.#bytes + bytes <= this.maxBytes) return true;
    for (const [key, other] of this.#folders) {
      if (other === folder) continue;
      other.drop();
      this.#folders.delete(key);
      if (this.#bytes + bytes <= this.maxBytes) return true;
    }
    return false;
  }

  /** `delta` bytes more (or fewer) kept (for `KeptFolder`). */
  counted(delta: number): void {
    this.#bytes += delta;
  }
}

/** The responses kept for one folder's members. */
export class KeptFolder {
  /** Members kept, by name: their slot in `#fields` and `#seen`. */
  readonly #slots = new Map<string, number>();
  #fields = new Float64Array(64 * FIELDS);
  /** The listing (`begin`) that last gave or kept each slot's response. */
  #seen = new Float64Array(64);
  /** Slots free for reuse (their members dropped). */
  readonly #free: number[] = [];
  /** Slots ever used: the next new one. */
  #next = 0;
  /** The members' responses, one after the other; the bytes before `#used` are written. */
  #slab: Buffer = Buffer.alloc(0);
  #used = 0;
  /** Bytes of `#slab` that are responses of members kept (the rest are old ones). */
  #live = 0;
  #listing = 0;
  #dropped = false;

  constructor(private readonly owner: KeptResponses) {}

  /** Members kept. */
  get size(): number {
    return this.#slots.size;
  }

  /** A listing of the folder begins. */
  begin(): KeptListing {
    return new KeptListing(this, ++this.#listing);
  }

  /** Whether the listing `listing` keeps the responses it makes: not the folder's first. */
  #keeps(listing: number): boolean {
    return listing > 1 && !this.#dropped;
  }

  /**
   * The response kept for the member `name` with stats `st` appended to `out` (as a slice of the
   * folder's buffer); false, having done nothing, when none is kept or it was made from other stats.
   */
  send(name: string, st: Stats, listing: number, out: Utf8Chunks): boolean {
    const slot = this.#slots.get(name);
    if (slot === undefined) return false;
    const f = this.#fields;
    const i = slot * FIELDS;
    if (f[i + INO] !== st.ino || f[i + SIZE] !== st.size || f[i + MTIME] !== st.mtimeMs || f[i + CTIME] !== st.ctimeMs || f[i + BIRTHTIME] !== st.birthtimeMs || f[i + MODE] !== st.mode) return false;
    this.#seen[slot] = listing;
    const at = f[i + AT]!;
    out.appendSlice(this.#slab, at, at + f[i + LENGTH]!);
    return true;
  }

  /**
   * `text`, the response made for the member `name` with stats `st`, appended to `out`, and kept
   * when the listing keeps and there is room.
   */
  keep(name: string, st: Stats, text: string, listing: number, out: Utf8Chunks): void {
    if (!this.#keeps(listing) || !this.#fit(text.length * 3)) {
      out.append(text);
      return;
    }
    let slot = this.#slots.get(name);
    if (slot === undefined) {
      if (!this.owner.room(this, ENTRY_OVERHEAD)) {
        out.append(text);
        return;
      }
      this.owner.counted(ENTRY_OVERHEAD);
      slot = this.#newSlot();
      this.#slots.set(name, slot);
    } else {
      this.#live -= this.#fields[slot * FIELDS + LENGTH]!;
    }
    const at = this.#used;
    const length = this.#slab.write(text, at);
    this.#used += length;
    this.#live += length;
    const f = this.#fields;
    const i = slot * FIELDS;
    f[i + INO] = st.ino;
    f[i + SIZE] = st.size;
    f[i + MTIME] = st.mtimeMs;
    f[i + CTIME] = st.ctimeMs;
    f[i + BIRTHTIME] = st.birthtimeMs;
    f[i + MODE] = st.mode;
    f[i + AT] = at;
    f[i + LENGTH] = length;
    this.#seen[slot] = listing;
    out.appendSlice(this.#slab, at, at + length);
  }

  /**
   * The listing `listing` walked the whole folder: members it did not meet are gone, and so
   * dropped; when more of the buffer is unused than used, it is written anew.
   */
  end(listing: number): void {
    if (this.#dropped) return;
    let freed = 0;
    for (const [name, slot] of this.#slots) {
      if (this.#seen[slot]! >= listing) continue;
      this.#slots.delete(name);
      this.#free.push(slot);
      this.#live -= this.#fields[slot * FIELDS + LENGTH]!;
      freed += ENTRY_OVERHEAD;
    }
    this.owner.counted(-freed);
    if (this.#used - this.#live > this.#live) this.#compact();
  }

  /** Dropped by its owner to make room: keeps nothing from now on (a listing of it still under way goes on without). */
  drop(): void {
    if (this.#dropped) return;
    this.owner.counted(-(FOLDER_OVERHEAD + this.#slab.length + this.#slots.size * ENTRY_OVERHEAD));
    this.#slots.clear();
    this.#slab = Buffer.alloc(0);
    this.#used = 0;
    this.#live = 0;
    this.#dropped = true;
  }

  /** Room in the buffer for `bytes` more (a larger buffer when there is room for it); false when there is not. */
  #fit(bytes: number): boolean {
    if (this.#used + bytes <= this.#slab.length) return true;
    const size = Math.max(FIRST_SLAB, this.#slab.length * 2, this.#used + bytes);
    if (!this.owner.room(this, size - this.#slab.length) || this.#dropped) return false;
    const larger = Buffer.allocUnsafeSlow(size);
    this.#slab.copy(larger, 0, 0, this.#used);
    this.owner.counted(size - this.#slab.length);
    this.#slab = larger;
    return true;
  }

  #newSlot(): number {
    const reused = this.#free.pop();
    if (reused !== undefined) return reused;
    const slot = this.#next++;
    if (slot >= this.#seen.length) {
      const fields = new Float64Array(this.#fields.length * 2);
      fields.set(this.#fields);
      this.#fields = fields;
      const seen = new Float64Array(this.#seen.length * 2);
      seen.set(this.#seen);
      this.#seen = seen;
    }
    return slot;
  }

  /** The buffer written anew with the responses of the members kept, in the order they were first kept. */
  #compact(): void {
    const size = Math.max(FIRST_SLAB, this.#live);
    const slab = Buffer.allocUnsafeSlow(size);
    const f = this.#fields;
    let used = 0;
    for (const slot of this.#slots.values()) {
      const i = slot * FIELDS;
      const at = f[i + AT]!;
      const length = f[i + LENGTH]!;
      this.#slab.copy(slab, used, at, at + length);
      f[i + AT] = used;
      used += length;
    }
    this.owner.counted(size - this.#slab.length);
    this.#slab = slab;
    this.#used = used;
  }
}

/** One listing of a folder: what it meets is marked as met by it (for `end`). */
export class KeptListing {
  constructor(
    private readonly folder: KeptFolder,
    private readonly number: number,
  ) {}

  /** `KeptFolder.send` for this listing. */
  send(name: string, st: Stats, out: Utf8Chunks): boolean {
    return this.folder.send(name, st, this.number, out);
  }

  /** `KeptFolder.keep` for this listing. */
  keep(name: string, st: Stats, text: string, out: Utf8Chunks): void {
    this.folder.keep(name, st, text, this.number, out);
  }

  /** The listing walked the whole folder (`KeptFolder.end`). */
  end(): void {
    this.folder.end(this.number);
  }
}
