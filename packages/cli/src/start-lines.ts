import type { ServiceResult } from '@hearth/supervisor/control';

/**
 * After `hearth start` or `restart`: one line for each service it required and started first,
 * in the order they started, as `hearth stop` prints what it stopped first
 * (`db: running (pid 12) (required by api)`). Older supervisors send no list.
 */
export function startedWithLines(s: ServiceResult): string {
  return (s.startedWith ?? []).map((d) => `${d.status.name}: ${d.status.state}${d.status.pid !== null ? ` (pid ${d.status.pid})` : ''} (required by ${d.requiredBy})\n`).join('');
}

/**
 * After `hearth start` or `restart`: the line naming the services that require the one started
 * and are still stopped (they are not started with it), or nothing. Older supervisors send no list.
 */
export function stillStoppedHint(s: ServiceResult): string {
  const names = s.stillStopped ?? [];
  return names.length > 0 ? `still stopped, requires ${s.name}: ${names.join(', ')}\n` : '';
}

/**
 * After `hearth start` or `restart`: the line naming the services held back for a requirement
 * (at `hearth up`, or when a reload added them) that it brought up and that now run, as
 * `hearth reload` prints them, or nothing. Older supervisors send no list.
 */
export function startedHeldBackLine(s: ServiceResult): string {
  const names = s.startedHeldBack ?? [];
  return names.length > 0 ? `started, no longer held back: ${names.join(', ')}\n` : '';
}

/** After `hearth start` or `restart` (`verb`): one error line for each held back service it started that did not come up. */
export function heldBackFailedLines(verb: string, s: ServiceResult): string {
  return (s.heldBackFailed ?? []).map((f) => `hearth ${verb}: ${f.error}\n`).join('');
}
