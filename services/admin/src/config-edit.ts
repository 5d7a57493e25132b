/**
 * Changing a share in the config file itself, which stays the one source of truth: the file is
 * parsed with its comments and layout (`yaml`'s document API), only the share's node under
 * `services.NAME.settings.shares` is added, changed or deleted, the text is written atomically (a
 * temporary file in the same folder, then a rename) and the supervisor reloads it. A change sets
 * only the keys the forms edit, and only those whose value differs from the file's: every other
 * key of the share, and the comments among them, stay as written. If the reload refuses the new
 * file, the old text is put back and the problems are returned: the file on disk never stays in a
 * state `hearth up` refused.
 */
import { isDeepStrictEqual } from 'node:util';
import { readFile, stat } from 'node:fs/promises';
import { replaceFile } from '@hearth/durable';
import { shareSchema } from '@hearth/files/config';
import type { SupervisorPort, ReloadOutcome } from './control.js';

/** What the add and change forms edit of a share; the file service's schema has checked it. */
export interface ShareEntry {
  readonly path: string;
  readonly read: readonly string[];
  readonly write: readonly string[];
  readonly refuseAppleFiles: boolean;
  /** The quota as typed (`10MB`, `512KiB`, or a number of bytes); undefined for no limit. */
  readonly quota: string | number | undefined;
}

/** The keys the forms edit, as written into the file; undefined leaves the key out (its default). */
function writtenKeys(entry: ShareEntry): Record<keyof ShareEntry, unknown> {
  return {
    path: entry.path,
    read: [...entry.read],
    write: [...entry.write],
    refuseAppleFiles: entry.refuseAppleFiles ? true : undefined,
    quota: entry.quota,
  };
}

/** Whether `a` and `b` mean the same value of the share's key `key` (`10MB` and 10000000 do). */
function sameValue(key: keyof ShareEntry, a: unknown, b: unknown): boolean {
  const schema = shareSchema.shape[key];
  const x = schema.safeParse(a);
  const y = schema.safeParse(b);
  return x.success && y.success && isDeepStrictEqual(x.data, y.data);
}

export type ShareChange = { readonly kind: 'set'; readonly share: string; readonly entry: ShareEntry } | { readonly kind: 'delete'; readonly share: string };

export type EditOutcome =
  | { readonly kind: 'applied'; readonly reload: Extract<ReloadOutcome, { kind: 'applied' }> }
  /** The reload refused the edited file; the old text is back. */
  | { readonly kind: 'refused'; readonly problems: readonly string[] };

/** The file cannot take the change (it does not parse, names no such service or share). */
export class ConfigEditError extends Error {
  override readonly name = 'ConfigEditError';
}

/** The config file replaced whole, synced, with the permissions it had (`@hearth/durable`). */
async function writeAtomically(file: string, text: string): Promise<void> {
  const mode = await stat(file).then((s) => s.mode & 0o777, () => 0o644);
  await replaceFile(file, text, mode);
}

/**
 * The file's text with `change` made to service `service`'s shares (comments and layout kept).
 * The YAML library is loaded on the first edit: the page runs for weeks without one, and it is
 * 1.2 MB of heap and about 5 MB of RSS in each of the service's processes.
 */
export async function editShares(text: string, service: string, change: ShareChange): Promise<string> {
  const { isMap, parseDocument } = await import('yaml');
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new ConfigEditError(`the config file does not parse: ${doc.errors[0]!.message}`);
  if (!doc.hasIn(['services', service])) throw new ConfigEditError(`the config file has no service ${service}`);
  const at = ['services', service, 'settings', 'shares', change.share];
  if (change.kind === 'delete') {
    if (!doc.deleteIn(at)) throw new ConfigEditError(`the config file has no share ${change.share} in ${service}`);
  } else {
    const written = writtenKeys(change.entry);
    const node = doc.getIn(at, true);
    if (isMap(node)) {
      const current = node.toJS(doc) as Record<string, unknown>;
      for (const [key, value] of Object.entries(written) as [keyof ShareEntry, unknown][]) {
        if (sameValue(key, current[key], value)) continue;
        if (value === undefined) node.delete(key);
        else node.set(key, value);
      }
    } else {
      doc.setIn(at, Object.fromEntries(Object.entries(written).filter(([, value]) => value !== undefined)));
    }
  }
  return doc.toString();
}

let queue: Promise<unknown> = Promise.resolve();

/** Edits `file`, reloads, puts the old text back if the reload refuses it. One edit at a time. */
export function applyShareChange(supervisor: SupervisorPort, file: string, service: string, change: ShareChange): Promise<EditOutcome> {
  const run = async (): Promise<EditOutcome> => {
    const before = await readFile(file, 'utf8');
    await writeAtomically(file, await editShares(before, service, change));
    const outcome = await supervisor.reload().catch(async (error: unknown) => {
      await writeAtomically(file, before);
      throw error;
    });
    if (outcome.kind === 'applied') return { kind: 'applied', reload: outcome };
    await writeAtomically(file, before);
    return { kind: 'refused', problems: outcome.problems };
  };
  const next = queue.then(run, run);
  queue = next.catch(() => undefined);
  return next;
}
