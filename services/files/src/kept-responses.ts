/**
 * The PROPFIND responses a listing made for its members, kept as the UTF-8 bytes it sent, by the
 * listed folder's href, the properties asked and the member's name, and sent again by the next
 * listing of that folder asking the same for every member whose stats have not changed: a client
 * that lists a folder again (a file manager does so whenever it shows it) costs its stat calls and
 * a copy per member instead of a rendering.
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
 * Responses are kept from a folder's second listing on: a folder listed once (as a sync tool walking
 * a tree lists each) costs no more than it did. Bounded in bytes (`maxBytes`, each folder counted
 * with `FOLDER_OVERHEAD` and each response with `ENTRY_OVERHEAD` for their bookkeeping): room is made
 * by dropping the folders listed least recently; a folder alone larger than the bound keeps what
 * fits. A listing that walks a folder to its end drops what it did not meet (members gone since).
 */
import type { Stats } from 'node:fs';

/** Bytes counted for a kept response besides its own: its record, its name and its place in the map. */
export const ENTRY_OVERHEAD = 160;

/** Bytes counted for a folder's record: its href, its map and its place in the map of folders. */
export const FOLDER_OVERHEAD = 400;

export const DEFAULT_KEPT_BYTES = 32 * 1024 * 1024;

interface Kept {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly birthtimeMs: number;
  readonly mode: number;
  readonly bytes: Buffer;
  /** The listing (`KeptFolder.begin`) that last gave or kept it. */
  seen: number;
}

export class KeptResponses {
  /** Folders by href and what is asked, the one listed least recently first. */
  readonly #folders = new Map<string, KeptFolder>();
  #bytes = 0;

  constructor(readonly maxBytes: number = DEFAULT_KEPT_BYTES) {}

  /** Bytes counted for what is kept: the responses and the folders' records. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * The responses kept for the folder listed at `href` when `asked` (`statsOnlyRequest`) is asked,
   * now the most recently listed.
   */
  folder(href: string, asked: string): KeptFolder {
    const key = `${href}\n${asked}`;
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

/** The responses kept for one folder's members, by name. */
export class KeptFolder {
  readonly #members = new Map<string, Kept>();
  #listing = 0;
  #dropped = false;

  constructor(private readonly owner: KeptResponses) {}

  /** Members kept. */
  get size(): number {
    return this.#members.size;
  }

  /** A listing of the folder begins: what it meets is marked with the number returned (for `end`). */
  begin(): number {
    return ++this.#listing;
  }

  /** Whether the listing `listing` keeps the responses it makes: not the folder's first. */
  keeps(listing: number): boolean {
    return listing > 1 && !this.#dropped;
  }

  /** The response kept for the member `name` with stats `st`, or undefined (none, or made from other stats). */
  get(name: string, st: Stats, listing: number): Buffer | undefined {
    const kept = this.#members.get(name);
    if (kept === undefined) return undefined;
    if (kept.ino !== st.ino || kept.size !== st.size || kept.mtimeMs !== st.mtimeMs || kept.ctimeMs !== st.ctimeMs || kept.birthtimeMs !== st.birthtimeMs || kept.mode !== st.mode) return undefined;
    kept.seen = listing;
    return kept.bytes;
  }

  /** Keep `bytes`, the response made for the member `name` with stats `st`, when there is room. */
  set(name: string, st: Stats, bytes: Buffer, listing: number): void {
    if (!this.keeps(listing)) return;
    const old = this.#members.get(name);
    const delta = bytes.length + ENTRY_OVERHEAD - (old === undefined ? 0 : old.bytes.length + ENTRY_OVERHEAD);
    if (delta > 0 && !this.owner.room(this, delta)) return;
    this.#members.set(name, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, birthtimeMs: st.birthtimeMs, mode: st.mode, bytes, seen: listing });
    this.owner.counted(delta);
  }

  /** The listing `listing` walked the whole folder: members it did not meet are gone, and so dropped. */
  end(listing: number): void {
    let freed = 0;
    for (const [name, kept] of this.#members) {
      if (kept.seen >= listing) continue;
      this.#members.delete(name);
      freed += kept.bytes.length + ENTRY_OVERHEAD;
    }
    this.owner.counted(-freed);
  }

  /** Dropped by its owner to make room: keeps nothing from now on (a listing of it still under way goes on without). */
  drop(): void {
    if (this.#dropped) return;
    let freed = FOLDER_OVERHEAD;
    for (const kept of this.#members.values()) freed += kept.bytes.length + ENTRY_OVERHEAD;
    this.#members.clear();
    this.#dropped = true;
    this.owner.counted(-freed);
  }
}
