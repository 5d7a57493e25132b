/**
 * Resources on disk: where a list of names lands below a share (never outside it: symbolic links
 * that lead out of the share are treated as absent), their ETags, content types, and the names the
 * service keeps for itself (upload temporaries) or refuses (macOS metadata, when asked).
 */
import type { Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { lstatQuick, realpathQuick, statQuick } from './quick-calls.js';

/** Upload temporaries: never listed, never served, never writable by clients. */
export const TEMP_PREFIX = '.hearth-upload-';

export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

/** macOS AppleDouble and folder-state files (refused when a share asks). */
export function isAppleFile(name: string): boolean {
  return name.startsWith('._') || name === '.DS_Store';
}

/**
 * Names macOS asks for on every volume; they never exist here, so they get a 404 without disk
 * access. Not `.hidden`, which macOS asks for too: GNOME Files keeps the names it hides there.
 */
const PROBES = new Set(['.Spotlight-V100', '.metadata_never_index', '.metadata_never_index_unless_rootfs', '.metadata_direct_scope_only', '.Trashes', '.ql_disablethumbnails', '.ql_disablecache']);

export function isProbeName(name: string): boolean {
  return PROBES.has(name);
}

/** Strong ETag: inode, size and modification time in microseconds (a replaced file has a new inode). */
export function etagOf(st: Stats): string {
  let etag = etags.get(st);
  if (etag === undefined) {
    etag = `"${etagValue(st)}"`;
    etags.set(st, etag);
  }
  return etag;
}

/**
 * The modification time cut down to its whole second (ms): the time `Last-Modified` and
 * `getlastmodified` name (`props.ts`'s `lastModified`) and the one the conditional headers and
 * If-Range compare. (Node's `st.mtime` rounds to the millisecond first, so a time in the last half
 * millisecond of a second would name the next one.)
 */
export function modifiedSecond(st: Stats): number {
  return Math.floor(st.mtimeMs / 1000) * 1000;
}

/** The ETag without its quotes, computed afresh (for stats used once, as a listing's). */
export function etagValue(st: Stats): string {
  return `${hex(st.ino)}-${hex(st.size)}-${hex(Math.round(st.mtimeMs * 1000))}`;
}

/**
 * `n.toString(16)`, the same text: an integer at or above 2^32 (a time in microseconds) is written
 * as two 32-bit halves, which V8 converts much faster than the whole double.
 */
function hex(n: number): string {
  if (n < 0 || n >= 2 ** 53 || !Number.isInteger(n)) return n.toString(16);
  if (n < 2 ** 32) return (n >>> 0).toString(16);
  return Math.floor(n / 2 ** 32).toString(16) + (n >>> 0).toString(16).padStart(8, '0');
}

/** ETags by stats object: a cached lookup is asked for its ETag by every request that uses it. */
const etags = new WeakMap<Stats, string>();

const realRoots = new Map<string, string>();

/** The real path of a share's folder (links resolved), cached. */
export async function realRoot(root: string): Promise<string> {
  let real = realRoots.get(root);
  if (real === undefined) {
    real = await realpath(root);
    if (realRoots.size > 10_000) realRoots.clear();
    realRoots.set(root, real);
  }
  return real;
}

/** Whether `path` is `root` or below it (both real paths). */
export function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith('/') ? root : `${root}/`);
}

export interface Located {
  readonly path: string;
  /**
   * The names as the folders spell them: the names asked for, or where a folder holds one in
   * another normalisation form, its spelling (what every change on disk must use).
   */
  readonly names: readonly string[];
  /** The resource's stats, undefined when it does not exist (or is a link leading out of the share). */
  readonly stat: Stats | undefined;
  /** Whether the parent exists as a folder inside the share. */
  readonly parentOk: boolean;
}

/**
 * Resolve `names` below `root`, refusing to follow any link out of it. Names come in NFC
 * (`paths.ts`); one that a folder holds in NFD instead (a file copied from macOS by rsync or
 * Samba) is found under that spelling (`onDisk`), so that what a listing shows can be read,
 * replaced and deleted, and an upload under either spelling replaces it.
 */
export async function locate(root: string, names: readonly string[]): Promise<Located> {
  const found = await locateAsNamed(root, names);
  if (found.stat !== undefined || !names.some((name) => NON_ASCII.test(name))) return found;
  const spelled = await onDisk(root, names);
  return spelled === undefined ? found : locateAsNamed(root, spelled);
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * `names` as the folders below `root` spell them, where a name is missing as given (NFC) and the
 * folder holds its NFD spelling (the form macOS writes); undefined when no name differs (or a
 * spelling is missing in both forms). One `lstat` more per such name: a miss (Finder asks for a
 * `._` file of every file it lists) costs no directory read.
 */
async function onDisk(root: string, names: readonly string[]): Promise<string[] | undefined> {
  const spelled: string[] = [];
  let changed = false;
  let folder = root;
  for (const name of names) {
    let actual = name;
    const decomposed = name.normalize('NFD');
    if (decomposed !== name && !(await exists(join(folder, name)))) {
      if (!(await exists(join(folder, decomposed)))) return undefined;
      actual = decomposed;
      changed = true;
    }
    spelled.push(actual);
    folder = join(folder, actual);
  }
  return changed ? spelled : undefined;
}

function exists(path: string): Promise<boolean> {
  return lstatQuick(path).then(() => true, () => false);
}

async function locateAsNamed(root: string, names: readonly string[]): Promise<Located> {
  const path = join(root, ...names);
  if (names.length === 0) {
    const st = await statQuick(root).catch(() => undefined);
    return { path, names, stat: st?.isDirectory() ? st : undefined, parentOk: true };
  }
  const rootReal = await realRoot(root);
  // Directly in the share's folder, the parent is the (already resolved) root itself.
  if (names.length > 1) {
    let parentReal: string;
    try {
      parentReal = await realpathQuick(dirname(path));
    } catch {
      return { path, names, stat: undefined, parentOk: false };
    }
    if (!inside(parentReal, rootReal)) return { path, names, stat: undefined, parentOk: false };
  }
  let st: Stats;
  try {
    st = await lstatQuick(path);
  } catch (err) {
    // Directly in the root, a missing parent cannot be: ENOTDIR and the like still mean "no parent".
    return { path, names, stat: undefined, parentOk: (err as NodeJS.ErrnoException).code === 'ENOENT' };
  }
  if (st.isSymbolicLink()) {
    try {
      const target = await realpathQuick(path);
      if (!inside(target, rootReal)) return { path, names, stat: undefined, parentOk: true };
      st = await statQuick(path);
    } catch {
      return { path, names, stat: undefined, parentOk: true };
    }
  }
  return { path, names, stat: st, parentOk: true };
}

/** Whether a directory entry found while listing may be shown (links must stay inside the share). */
export async function listable(root: string, path: string, st: Stats): Promise<Stats | undefined> {
  if (!st.isSymbolicLink()) return st.isFile() || st.isDirectory() ? st : undefined;
  try {
    const target = await realpath(path);
    if (!inside(target, await realRoot(root))) return undefined;
    const followed = await stat(path);
    return followed.isFile() || followed.isDirectory() ? followed : undefined;
  } catch {
    return undefined;
  }
}

const TYPES: Record<string, string> = {
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.xml': 'application/xml',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.tar': 'application/x-tar',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.heic': 'image/heic',
  '.ico': 'image/vnd.microsoft.icon',
  '.mp3': 'audio/mpeg',
  '.flac': 'audio/flac',
  '.ogg': 'audio/ogg',
  '.wav': 'audio/wav',
  '.m4a': 'audio/mp4',
  '.mp4': 'video/mp4',
  '.mov': 'video/quicktime',
  '.mkv': 'video/x-matroska',
  '.webm': 'video/webm',
  '.doc': 'application/msword',
  '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  '.pptx': 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  '.odt': 'application/vnd.oasis.opendocument.text',
  '.ods': 'application/vnd.oasis.opendocument.spreadsheet',
  '.epub': 'application/epub+zip',
};

export function contentTypeOf(name: string): string {
  return TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
}
