/**
 * The file service's manifest: its kind, strict settings schema (with every default) and default
 * listeners. Imports nothing heavy: the supervisor loads it to validate config.
 */
import { z } from 'zod';
import { byteSize, duration } from '@hearth/config/types';
import type { ServiceManifest } from '@hearth/runtime';
import { counters } from './counters.js';

const count = (min: number) => z.number().int().min(min);

/** A share name is one URL segment: `/photos/`. `home` is each user's private folder. */
const shareName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a share name is 1-64 letters, digits, dots, hyphens or underscores')
  .refine((name) => name !== 'home', '"home" is reserved for each user\'s private folder');

/** Who may read or write: user names, `@group` for a group, `*` for every authenticated user. */
const principals = z.array(z.string().regex(/^(\*|@?[^\s@/]{1,64})$/, 'a user name, @group or *')).default([]);

export const shareSchema = z.strictObject({
  /** The folder served (absolute, or relative to the data directory). */
  path: z.string().min(1),
  read: principals,
  write: principals,
  /** Refuse to store macOS `._*` AppleDouble files and `.DS_Store` (403). */
  refuseAppleFiles: z.boolean().default(false),
  /** Bytes the share's folder may hold, whoever writes them (507 beyond); 0 means no limit. */
  quota: byteSize().default(0),
});

export type ShareSettings = z.output<typeof shareSchema>;

export const settingsSchema = z.strictObject({
  shares: z.record(shareName, shareSchema).default({}),
  /** Each user's private folder, `/home/`, under DATA/files/home/<user>. */
  home: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Bytes a user may store in their home folder; 0 means no limit. */
      quota: byteSize().default(0),
      refuseAppleFiles: z.boolean().default(false),
    })
    .default({ enabled: true, quota: 0, refuseAppleFiles: false }),
  /** Basic auth realm in the 401 challenge. */
  realm: z.string().regex(/^[\x20-\x7e]{1,64}$/).refine((s) => !s.includes('"'), 'no quotes in the realm').default('Hearth files'),
  /** Accept Basic auth over plain HTTP from non-loopback clients (loopback and HTTPS always may). */
  allowPlaintextAuth: z.boolean().default(false),
  /** Largest request body (PUT); larger declared lengths get 413, larger streams are cut. */
  maxBodySize: byteSize().default(64 * 1024 ** 3),
  /** Largest XML request body (PROPFIND, PROPPATCH, LOCK). */
  maxXmlSize: byteSize().default(1024 * 1024),
  /** Largest request head (request line plus headers). */
  maxHeaderSize: byteSize().default(16 * 1024),
  /** Requests in progress per client address; more get 503. */
  maxRequestsPerClient: count(1).default(64),
  /** Open connections in total. */
  maxConnections: count(1).default(10_000),
  /** Time to receive the request head. */
  headersTimeout: duration().default(30_000),
  /**
   * A request during which no byte moves in either direction for this long is cut off (its
   * connection closed); between requests, `keepAliveTimeout` applies.
   */
  idleTimeout: duration().default(60_000),
  /**
   * How long a connection is kept open for its client's next request, announced in each
   * response (`Keep-Alive: timeout=N`, whole seconds); closed a second or two after that.
   */
  keepAliveTimeout: duration()
    .refine((ms) => ms >= 1000, 'keepAliveTimeout is at least 1s (clients are told it in whole seconds)')
    .default(5000),
  /** Allow PROPFIND with `Depth: infinity` (RFC 4918 lets servers refuse it). */
  propfindInfinity: z.boolean().default(false),
  /** Longest lock a client may ask for, and the one given for `Infinite`. */
  maxLockTimeout: duration().default(3600_000),
  /** Longest path under a share, in bytes of UTF-8, and longest single name. */
  maxPathLength: count(64).default(4096),
  maxNameLength: count(16).max(1024).default(255),
  /** Delay before answering a failed login (does not block other requests). */
  loginFailureDelay: duration().default(1000),
  maxLoginFailuresPerIp: count(1).default(20),
  maxLoginFailuresPerUser: count(1).default(10),
  failureWindow: duration().default(15 * 60_000),
});

export type FilesSettings = z.output<typeof settingsSchema>;

export const manifest: ServiceManifest<FilesSettings> = {
  kind: 'files',
  settings: settingsSchema,
  counters,
  defaultListeners: [
    { name: 'http', protocol: 'tcp', address: '127.0.0.1', port: 2080, tls: false },
    { name: 'https', protocol: 'tcp', address: '127.0.0.1', port: 2443, tls: true },
  ],
  listenerRule: { protocol: 'tcp' },
  defaultRequires: [],
};

/** The defaults, parsed once (what `{}` in the config means). */
export function defaultSettings(): FilesSettings {
  return settingsSchema.parse({});
}
