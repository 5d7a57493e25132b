/**
 * The POP3 service's manifest: its kind, strict settings schema (with every default) and default
 * listeners. Imports nothing heavy: the supervisor loads it to validate config.
 */
import { z } from 'zod';
import { byteSize, duration } from '@hearth/config/types';
import type { ServiceManifest } from '@hearth/runtime';
import { counters } from './counters.js';

const TEN_MINUTES = 10 * 60_000;

const count = (min: number) => z.number().int().min(min);

export const settingsSchema = z.strictObject({
  /** RFC 1939 3: the autologout timer must be at least 10 minutes. */
  autologout: duration()
    .refine((ms) => ms >= TEN_MINUTES, 'autologout must be at least 10m (RFC 1939)')
    .default(TEN_MINUTES),
  /**
   * Allow USER/PASS and AUTH PLAIN/LOGIN on unencrypted connections from non-loopback addresses
   * (Dovecot's `disable_plaintext_auth = no`). Loopback and TLS connections may always use them.
   */
  allowPlaintextAuth: z.boolean().default(false),
  /** Longest command line in bytes without CRLF (RFC 2449 allows 255 for commands; SASL needs more). */
  maxLineLength: count(255).max(65536).default(4096),
  /** Unknown commands and syntax errors tolerated per session before it is closed. */
  maxBadCommands: count(1).default(10),
  /** Delay before answering a failed login (does not block other sessions). */
  loginFailureDelay: duration().default(2000),
  /** Failed logins allowed per client address within `failureWindow`, then logins are refused. */
  maxLoginFailuresPerIp: count(1).default(20),
  /** Failed logins allowed per user name within `failureWindow`. */
  maxLoginFailuresPerUser: count(1).default(10),
  failureWindow: duration().default(15 * 60_000),
  /** Open connections in total, per client address, and authenticated sessions per user. */
  maxConnections: count(1).default(10_000),
  maxConnectionsPerIp: count(1).default(50),
  maxConnectionsPerUser: count(1).default(10),
  /**
   * RFC 1939's exclusive maildrop lock: a second session of a user is refused `-ERR [IN-USE]`
   * while one is in TRANSACTION (XIDLE included). Off by default, as Dovecot's
   * `pop3_lock_session`: several sessions of one user at once, each on its login snapshot.
   */
  exclusiveLock: z.boolean().default(false),
  /** TLS handshake time limit (STLS and the implicit-TLS port). */
  tlsHandshakeTimeout: duration().default(10_000),
  /** Largest message XSEND accepts (octets with CRLF line ends, trace headers excluded). */
  maxSendSize: byteSize()
    .refine((n) => n >= 1024, 'maxSendSize must be at least 1KiB')
    .default(25_000_000),
  /**
   * XIDLE: new messages not yet announced while the client's socket is full, before the session
   * is closed as not reading its notifications.
   */
  maxPendingPushes: count(1).default(10_000),
  /**
   * XIDLE: how often a waiting session checks that the credentials of its login are still the
   * user's (the password not set, the account not disabled or deleted since), as every command
   * line and every push line checks them. One read of the user's account each time.
   */
  credentialCheckInterval: duration()
    .refine((ms) => ms >= 100 && ms <= 60_000, 'credentialCheckInterval must be between 100ms and 1m')
    .default(5000),
  /** Host name in the APOP greeting timestamp; default: this machine's name. */
  hostname: z
    .string()
    .regex(/^[A-Za-z0-9.-]{1,253}$/, 'hostname may hold only letters, digits, dots and hyphens')
    .optional(),
});

export type Pop3Settings = z.output<typeof settingsSchema>;

export const manifest: ServiceManifest<Pop3Settings> = {
  kind: 'pop3',
  settings: settingsSchema,
  counters,
  defaultListeners: [
    { name: 'pop3', protocol: 'tcp', address: '127.0.0.1', port: 2110, tls: false },
    { name: 'pop3s', protocol: 'tcp', address: '127.0.0.1', port: 2995, tls: true },
  ],
  listenerRule: { protocol: 'tcp' },
  defaultRequires: [],
};

/** The defaults, parsed once (what `{}` in the config means). */
export function defaultSettings(): Pop3Settings {
  return settingsSchema.parse({});
}
