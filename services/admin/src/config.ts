/**
 * The admin service's manifest: its kind, strict settings schema (every default inside), its
 * counters and its default listener, HTTPS on 127.0.0.1:2843. Imports nothing heavy: the
 * supervisor loads it to validate the config.
 */
import { z } from 'zod';
import { duration } from '@hearth/config/types';
import type { ServiceManifest } from '@hearth/runtime';
import { counters } from './counters.js';

const count = (min: number) => z.number().int().min(min);

export const settingsSchema = z.strictObject({
  /** A session unused this long is signed out. */
  sessionIdle: duration().default(30 * 60_000),
  /** Sessions kept at most (signed in or not); the least recently used goes first. */
  maxSessions: count(16).default(10_000),
  /** Delay before answering a failed sign-in (the suite's login policy, as the mail services). */
  loginFailureDelay: duration().default(1000),
  maxLoginFailuresPerIp: count(1).default(20),
  maxLoginFailuresPerUser: count(1).default(10),
  failureWindow: duration().default(15 * 60_000),
  /** How often the dashboard's live stream sends the service table. */
  liveInterval: duration().default(2000),
  /** Who may read `/metrics`: `token` (the bearer token in DATA/admin/metrics-token) or `loopback` (no token, loopback peers only). */
  metrics: z.strictObject({ auth: z.enum(['token', 'loopback']).default('token') }).prefault({}),
});

export type AdminSettings = z.output<typeof settingsSchema>;

export const manifest: ServiceManifest<AdminSettings> = {
  kind: 'admin',
  settings: settingsSchema,
  counters,
  defaultListeners: [{ name: 'https', protocol: 'tcp', address: '127.0.0.1', port: 2843, tls: true }],
  listenerRule: { protocol: 'tcp', tls: 'required' },
  defaultRequires: [],
};
