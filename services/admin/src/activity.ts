/**
 * Requests in progress per share, asked of a file service over the bus (`files.activity.ask`
 * sent to it by name; it answers `files.activity` with the one contract of
 * `@hearth/files/activity`). An answer not back within the timeout is shown as unknown.
 */
import { ACTIVITY, ACTIVITY_ASK, parseShareActivity, type ShareActivity } from '@hearth/files/activity';
import type { MessageBus } from '@hearth/runtime';

export type ActivityPort = (service: string) => Promise<ShareActivity | undefined>;

export function busActivity(bus: MessageBus, timeoutMs = 1000): ActivityPort {
  const waiting = new Map<string, Set<(a: ShareActivity | undefined) => void>>();
  bus.on(ACTIVITY, (payload, from) => {
    const answered = waiting.get(from);
    if (!answered) return;
    waiting.delete(from);
    const activity = parseShareActivity(payload);
    for (const resolve of answered) resolve(activity);
  });
  return (service) =>
    new Promise((resolve) => {
      let set = waiting.get(service);
      if (!set) waiting.set(service, (set = new Set()));
      const done = (a: ShareActivity | undefined): void => {
        clearTimeout(timer);
        resolve(a);
      };
      const timer = setTimeout(() => {
        set.delete(done);
        resolve(undefined);
      }, timeoutMs);
      set.add(done);
      if (set.size === 1 && !bus.send(service, ACTIVITY_ASK, {})) done(undefined);
    });
}
