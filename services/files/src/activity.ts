/**
 * Which shares have requests in progress now, for the admin page: it sends `ACTIVITY_ASK` to a
 * file service by name over the bus, the service answers `ACTIVITY` to the asker with a
 * `ShareActivity`. The counts are the leases held on each share's entry of the handler table
 * (transfers under way included; a share replaced by a reload counts the requests still on its
 * old definition). Light: no service code, so the admin page imports it alone.
 */
import type { HandlerTable } from '@hearth/runtime';

export const ACTIVITY_ASK = 'files.activity.ask';
export const ACTIVITY = 'files.activity';

export interface ShareActivity {
  /** Requests in progress per share name (`home` for the home folders). */
  readonly inProgress: Readonly<Record<string, number>>;
}

const shareOf = (key: string): string | undefined => (key === 'home' ? 'home' : key.startsWith('share:') ? key.slice(6) : undefined);

export function shareActivity(table: HandlerTable<unknown>): ShareActivity {
  const inProgress: Record<string, number> = {};
  const add = (key: string, n: number): void => {
    const name = shareOf(key);
    if (name !== undefined) inProgress[name] = (inProgress[name] ?? 0) + n;
  };
  for (const key of table.keys()) add(key, table.refs(key));
  for (const { key, refs } of table.retired()) add(key, refs);
  return { inProgress };
}

/** The one check of an answer; undefined when it is not one. */
export function parseShareActivity(payload: unknown): ShareActivity | undefined {
  if (payload === null || typeof payload !== 'object') return undefined;
  const counts = (payload as { inProgress?: unknown }).inProgress;
  if (counts === null || typeof counts !== 'object' || Array.isArray(counts)) return undefined;
  const inProgress: Record<string, number> = {};
  for (const [name, n] of Object.entries(counts as Record<string, unknown>)) {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) return undefined;
    inProgress[name] = n;
  }
  return { inProgress };
}
