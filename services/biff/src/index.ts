/**
 * @hearth/biff: new-mail notifications. Comsat datagrams (from any local MDA) and Hearth's own
 * deliveries (`mail.delivered`) become `mail.notify` messages for exactly the services subscribed
 * to that user, over the supervisor's IPC channels. No signals, no polling.
 */
import type { ServiceDefinition } from '@hearth/runtime';
import { manifest, type BiffSettings } from './config.js';
import { startBiff } from './server.js';

export { manifest, settingsSchema, type BiffSettings } from './config.js';
export { counters } from './counters.js';
export { hearthUser } from '@hearth/mail-delivery';
export { CLASSIC_DATAGRAM_BYTES, maildropOf, parseComsat, type ComsatDatagram, type ComsatParse } from './comsat.js';
export { Notifier, newCounters, type Counters } from './notifier.js';
export { Outbox, type OutboxLimits } from './outbox.js';
export { ComsatLimiter, TokenBucket, type BucketSpec } from './rate-limit.js';
export { Subscriptions, type SubscribeResult, type SubscriptionLimits } from './subscriptions.js';
export { TOPICS } from './topics.js';
export { startBiff, type RunningBiff } from './server.js';

export const definition: ServiceDefinition<BiffSettings> = {
  ...manifest,
  start: (ctx) => startBiff(ctx),
};
