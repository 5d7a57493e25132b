/**
 * A batch of a folder's members as a PROPFIND listing renders them: their names and, packed as
 * numbers, what their properties need of their stats. It crosses to the listing thread
 * (`listing-thread.ts`) as plain data (the names as one string: one copy instead of one per name)
 * and is rendered there, or here when that thread cannot take it, by the same function.
 *
 * The rendering writes each member's `<D:response>` as UTF-8 into one reused buffer and copies the
 * batch out once: the same bytes made as one string of a whole batch and then encoded cost about
 * four times as much, most of it in joining up the string's pieces (bench/files).
 */
import type { Stats } from 'node:fs';
import { encodeName } from './paths.js';
import { renderResponse, type PropRequest, type ResourceView } from './props.js';
import type { StatFields } from './resource.js';

/** Numbers per member in `MemberBatch.stats`: collection (1 or 0), size, mtimeMs, ctimeMs, birthtimeMs, ino. */
export const STAT_FIELDS = 6;

export interface MemberBatch {
  /** The folder's href, ending in `/`. */
  readonly href: string;
  readonly request: PropRequest;
  /** RFC 4331 figures, given to the members that are collections. */
  readonly quota: ResourceView['quota'];
  /** The members' names, each followed by `/` (which no name holds). */
  readonly names: string;
  /** How many members. */
  readonly size: number;
  /** `STAT_FIELDS` numbers per member, in the order of `names`. */
  readonly stats: Float64Array;
  /** Members with dead properties or locks, rendered where those are known: index among the names, text. */
  readonly rendered: ReadonlyArray<readonly [number, string]>;
}

/** Members gathered into a batch of at most `capacity`, in the folder's order. */
export class MemberBatchBuilder {
  #names = '';
  #count = 0;
  #stats: Float64Array;
  #rendered: Array<readonly [number, string]> = [];

  constructor(
    private readonly href: string,
    private readonly request: PropRequest,
    private readonly quota: ResourceView['quota'],
    private readonly capacity: number,
  ) {
    this.#stats = new Float64Array(capacity * STAT_FIELDS);
  }

  /** Members gathered since the last `take`. */
  get size(): number {
    return this.#count;
  }

  /** A member to be rendered from its stats. */
  add(name: string, st: Stats): void {
    const at = this.#next(name) * STAT_FIELDS;
    const into = this.#stats;
    into[at] = st.isDirectory() ? 1 : 0;
    into[at + 1] = st.size;
    into[at + 2] = st.mtimeMs;
    into[at + 3] = st.ctimeMs;
    into[at + 4] = st.birthtimeMs;
    into[at + 5] = st.ino;
  }

  /** A member rendered already (it has dead properties or locks). */
  addRendered(name: string, response: string): void {
    this.#rendered.push([this.#next(name), response]);
  }

  /** The members gathered, as a batch; the builder starts empty again. */
  take(): MemberBatch {
    const batch: MemberBatch = { href: this.href, request: this.request, quota: this.quota, names: this.#names, size: this.#count, stats: this.#stats.subarray(0, this.#count * STAT_FIELDS), rendered: this.#rendered };
    this.#names = '';
    this.#count = 0;
    // The batch keeps its own: it may be rendered again here if the listing thread fails.
    this.#stats = new Float64Array(this.capacity * STAT_FIELDS);
    this.#rendered = [];
    return batch;
  }

  #next(name: string): number {
    if (this.#count >= this.capacity) throw new Error(`a batch holds at most ${this.capacity} members`);
    this.#names += `${name}/`;
    return this.#count++;
  }
}

/** A member's href below the folder's (collections end in `/`). */
export function memberHref(folderHref: string, name: string, collection: boolean): string {
  return `${folderHref}${encodeName(name)}${collection ? '/' : ''}`;
}

/** Reused for every batch of this thread; grows for a batch that does not fit. */
let scratch = Buffer.allocUnsafeSlow(256 * 1024);

/** Appends `text` as UTF-8 at `at` (growing the scratch buffer when it might not fit); the new end. */
function append(text: string, at: number): number {
  // At most three bytes per UTF-16 unit.
  if (at + text.length * 3 > scratch.length) {
    const larger = Buffer.allocUnsafeSlow(Math.max(scratch.length * 2, at + text.length * 3));
    scratch.copy(larger, 0, 0, at);
    scratch = larger;
  }
  return at + scratch.write(text, at);
}

/** The batch's `<D:response>` elements as UTF-8, in the order of its names, in a buffer of their own (it can be transferred). */
export function renderBatch(batch: MemberBatch): Uint8Array {
  const { stats, rendered } = batch;
  const names = batch.names.split('/');
  let end = 0;
  let next = 0;
  // The names end with a `/`: the last part is empty.
  for (let i = 0; i < names.length - 1; i++) {
    if (next < rendered.length && rendered[next]![0] === i) {
      end = append(rendered[next]![1], end);
      next++;
      continue;
    }
    const at = i * STAT_FIELDS;
    const collection = stats[at] === 1;
    const stat: StatFields = { size: stats[at + 1]!, mtimeMs: stats[at + 2]!, ctimeMs: stats[at + 3]!, birthtimeMs: stats[at + 4]!, ino: stats[at + 5]! };
    const name = names[i]!;
    const view: ResourceView = {
      href: memberHref(batch.href, name, collection),
      stat,
      collection,
      displayName: name,
      locks: [],
      dead: [],
      ...(collection && batch.quota !== undefined ? { quota: batch.quota } : {}),
    };
    end = append(renderResponse(view, batch.request), end);
  }
  const out = Buffer.allocUnsafeSlow(end);
  scratch.copy(out, 0, 0, end);
  return out;
}
