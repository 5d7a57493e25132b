/**
 * The biff service: the comsat UDP listener handed down by the supervisor, the notifier on the
 * bus, and the counters logged every `statsInterval` (debug) and at stop (info).
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { polledCounters } from '@hearth/metrics';
import type { RunningService, ServiceContext } from '@hearth/runtime';
import type { BiffSettings } from './config.js';
import { counters } from './counters.js';
import { Notifier } from './notifier.js';
import { TOPICS } from './topics.js';

export interface RunningBiff extends RunningService<BiffSettings> {
  readonly notifier: Notifier;
  /** The comsat sockets, by listener name (for tests: their bound addresses). */
  readonly sockets: ReadonlyMap<string, dgram.Socket>;
}

export async function startBiff(ctx: ServiceContext<BiffSettings>): Promise<RunningBiff> {
  const { log, settings } = ctx;
  const notifier = new Notifier(settings, ctx.bus, log);
  const sockets = new Map<string, dgram.Socket>();
  try {
    for (const [name, listener] of ctx.listeners) {
      if (listener.spec.protocol !== 'udp') {
        log.warn({ listener: name }, 'biff serves only udp listeners: listener ignored');
        continue;
      }
      const socket = dgram.createSocket({ type: isIPv6(listener.spec.address) ? 'udp6' : 'udp4' });
      socket.on('error', (err) => log.error({ err, listener: name }, 'comsat socket error'));
      socket.on('message', (data, rinfo) => notifier.onDatagram(data, rinfo.address));
      await listener.bind(socket);
      sockets.set(name, socket);
    }
  } catch (err) {
    for (const s of sockets.values()) s.close();
    throw err;
  }
  notifier.attach();

  const logStats = (): void => {
    log.debug(notifier.stats(), 'biff counters');
    notifier.tick();
  };
  let stats = setInterval(logStats, settings.statsInterval).unref();
  // Subscriptions live in this process: subscribers that listen to this topic subscribe again.
  ctx.bus.publish(TOPICS.started, { instance: process.pid });

  return {
    notifier,
    sockets,
    counters: polledCounters(counters, () => notifier.stats()),
    async reload(next) {
      notifier.apply(next);
      clearInterval(stats);
      stats = setInterval(logStats, next.statsInterval).unref();
    },
    async stop() {
      clearInterval(stats);
      for (const s of sockets.values()) s.close();
      notifier.close();
      log.info(notifier.stats(), 'biff stopped');
    },
  };
}
