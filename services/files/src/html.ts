/**
 * The HTML listing a browser gets for a collection: one table with name, size and date, folders
 * first and then files, each by name; links percent-encoded, names escaped (no scripts, no styles
 * to fetch). The folder is read whole and sorted before its rows are made, a batch at a time.
 */
import { openDirInside } from './anchored.js';
import type { RequestContext, Target } from './context.js';
import { MadeBody } from './made-body.js';
import { folderMembers } from './member-stats.js';
import { encodeName, hrefOf } from './paths.js';
import type { Reply } from './replies.js';
import { Utf8Chunks } from './utf8-chunks.js';
import { escapeXml as esc } from './xml.js';

function size(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** A listed member, kept until the folder has been read whole and sorted. */
interface Entry {
  readonly name: string;
  /** The name in UTF-8, whose byte order is the order of its code points. */
  readonly key: Buffer;
  readonly folder: boolean;
  readonly size: number;
  readonly mtimeMs: number;
}

/** Rows sent as one chunk, as a listing's batch of members is. */
const ROWS_PER_CHUNK = 256;

/**
 * Folders first, then files, each by the code points of their names: the same order whatever the
 * locale, as nginx's autoindex and Apache's mod_autoindex (with `FoldersFirst`) list them.
 */
function listingOrder(a: Entry, b: Entry): number {
  if (a.folder !== b.folder) return a.folder ? -1 : 1;
  return Buffer.compare(a.key, b.key);
}

function row(href: string, name: string, bytes: string, date: string): string {
  return `<tr><td><a href="${esc(href)}">${esc(name)}</a></td><td class="s">${bytes}</td><td>${date}</td></tr>\n`;
}

function stamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

export function htmlListing(ctx: RequestContext, t: Target): Reply {
  const title = t.kind === 'root' ? '/' : decodeURIComponent(t.href);
  async function* page(): AsyncGenerator<string | Buffer> {
    yield `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Index of ${esc(title)}</title>` +
      '<style>body{font-family:sans-serif}td{padding:0 1em}.s{text-align:right}</style></head>' +
      `<body><h1>Index of ${esc(title)}</h1><table><tr><th>Name</th><th>Size</th><th>Modified</th></tr>\n`;
    if (t.kind === 'root') {
      for (const name of ctx.env.shares.visible(ctx.user)) yield row(hrefOf([name], true), `${name}/`, '', '');
    } else {
      yield row(t.parentHref, '../', '', '');
      // Listed through the folder open and checked inside the share (nothing if it is not), the
      // members stated as PROPFIND states them, then sorted, then sent a batch of rows per chunk.
      const open = await openDirInside(t.share.root, t.path);
      if (open !== undefined) {
        const entries: Entry[] = [];
        try {
          for await (const [names, stats] of folderMembers(t.share.root, open.path)) {
            for (let i = 0; i < names.length; i++) {
              const st = stats[i];
              if (st === undefined) continue;
              const name = names[i]!;
              entries.push({ name, key: Buffer.from(name), folder: st.isDirectory(), size: st.size, mtimeMs: st.mtimeMs });
            }
          }
        } finally {
          open.close();
        }
        entries.sort(listingOrder);
        const out = new Utf8Chunks();
        for (let i = 0; i < entries.length; i++) {
          const e = entries[i]!;
          out.append(row(`${t.href}${encodeName(e.name)}${e.folder ? '/' : ''}`, `${e.name}${e.folder ? '/' : ''}`, e.folder ? '' : size(e.size), stamp(e.mtimeMs)));
          if ((i + 1) % ROWS_PER_CHUNK === 0) yield out.take();
        }
        if (out.length > 0) yield out.take();
      }
    }
    yield '</table></body></html>\n';
  }
  return { status: 200, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: new MadeBody(page()) };
}
