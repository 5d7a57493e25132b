import type { ServiceResult } from '@hearth/supervisor/control';

/**
 * After `hearth start` or `restart`: the line naming the services that require the one started
 * and are still stopped (they are not started with it), or nothing. Older supervisors send no list.
 */
export function stillStoppedHint(s: ServiceResult): string {
  const names = s.stillStopped ?? [];
  return names.length > 0 ? `still stopped, requires ${s.name}: ${names.join(', ')}\n` : '';
}
