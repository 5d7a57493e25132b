/**
 * A minimal notification subscriber, as a Hearth service module (`module:` in a suite config):
 * subscribes to biff for `users` and logs every `mail.notify` it gets ("new mail", at info, with
 * the payload's fields). It is what a POP3 push session or `hearth mail watch` does, without a
 * protocol around it: the demo and the cross-service tests use it as the waiting session.
 *
 * Settings: `users` (names to watch), `biff` (biff's service name, default "biff"), `stall` (tests:
 * block the event loop this long right after starting, so nothing is read from the channel: a
 * subscriber that never reads). It subscribes again whenever biff announces a new instance
 * (`biff.started`), and logs "subscribed" (at info, with the user) when biff confirms that it
 * holds a subscription (`biff.subscribed`): from then on, what biff hears for that user reaches it.
 */
import { z } from 'zod';
import { duration } from '@hearth/config/types';
import { flushLogger } from '@hearth/log';
import { subscriptionOf } from '@hearth/mail-delivery';
import type { RunningService, ServiceDefinition } from '@hearth/runtime';
import { TOPICS } from './topics.js';

export const watcherSettings = z.strictObject({
  users: z.array(z.string().min(1)).default([]),
  biff: z.string().min(1).default('biff'),
  stall: duration().default(0),
});

export type WatcherSettings = z.output<typeof watcherSettings>;

export const definition: ServiceDefinition<WatcherSettings> = {
  kind: 'biff-watcher',
  settings: watcherSettings,
  defaultListeners: [],

  async start(ctx): Promise<RunningService<WatcherSettings>> {
    const { biff, users } = ctx.settings;
    const instance = process.pid;
    let received = 0;
    const subscribe = (): void => {
      ctx.bus.send(biff, TOPICS.reset, { instance });
      for (const user of users) ctx.bus.send(biff, TOPICS.subscribe, { user, instance });
      ctx.log.info({ users, instance }, 'watching');
    };
    ctx.bus.on(TOPICS.notify, (payload, from) => {
      received++;
      ctx.log.info({ ...(payload as object), from, received }, 'new mail');
    });
    ctx.bus.on(TOPICS.subscribed, (payload) => {
      const sub = subscriptionOf(payload);
      if (sub?.instance === instance) ctx.log.info({ user: sub.user }, 'subscribed');
    });
    ctx.bus.on(TOPICS.started, () => subscribe());
    subscribe();
    if (ctx.settings.stall > 0) {
      const ms = ctx.settings.stall;
      setTimeout(() => {
        ctx.log.warn({ ms }, 'stalling: not reading anything');
        // The line goes out before the stall: the log writes asynchronously, and a line that came
        // while the one before it was still being written would wait out the whole stall.
        void flushLogger(ctx.log).then(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms));
      }, 50).unref();
    }
    return {
      async stop() {
        ctx.bus.send(biff, TOPICS.reset, { instance });
        ctx.log.info({ received }, 'watcher stopped');
      },
    };
  },
};
