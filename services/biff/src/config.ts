/**
 * The biff service's manifest: its settings schema (strict, every bound with a default) and its
 * default listener, comsat on 127.0.0.1:2512/udp. Imports nothing heavy: the supervisor loads it
 * without loading the service.
 */
import { z } from 'zod';
import { duration } from '@hearth/config/types';
import type { ServiceManifest } from '@hearth/runtime';
import { counters } from './counters.js';

/** A token bucket: `perSecond` tokens added each second, at most `burst` saved up. */
const bucket = (perSecond: number, burst: number) =>
  z
    .strictObject({
      perSecond: z.number().positive().default(perSecond),
      burst: z.number().int().min(1).default(burst),
    })
    .prefault({});

export const settingsSchema = z.strictObject({
  comsat: z
    .strictObject({
      /**
       * Bytes of a datagram that are read, as BSD comsat's `recv(msgbuf, 255)`. A longer datagram
       * whose text (up to its first NUL) does not fit is counted as oversized and dropped.
       */
      maxDatagramSize: z.number().int().min(16).max(65_507).default(255),
      /** Datagrams accepted over all senders. */
      rate: bucket(500, 1000),
      /** Datagrams accepted from one source address. */
      perSource: bucket(50, 100),
      /** Source addresses whose buckets are remembered (the oldest is forgotten past it). */
      maxSources: z.number().int().min(1).default(4096),
    })
    .prefault({}),
  subscriptions: z
    .strictObject({
      /** Distinct (instance, user) subscriptions one service may hold; more are refused and counted. */
      perService: z.number().int().min(1).default(100_000),
      /** Services that may hold subscriptions at once. */
      maxServices: z.number().int().min(1).default(64),
    })
    .prefault({}),
  queue: z
    .strictObject({
      /** Notifications waiting for one subscribing service; past it the oldest is dropped and counted. */
      perSubscriber: z.number().int().min(1).default(1000),
    })
    .prefault({}),
  /** How often the counters are logged (at debug); they are always logged at stop. */
  statsInterval: duration().default(60_000),
});

export type BiffSettings = z.output<typeof settingsSchema>;

export const manifest: ServiceManifest<BiffSettings> = {
  kind: 'biff',
  settings: settingsSchema,
  counters,
  defaultListeners: [{ name: 'comsat', protocol: 'udp', address: '127.0.0.1', port: 2512, tls: false }],
  listenerRule: { protocol: 'udp' },
};
