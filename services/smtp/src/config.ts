/**
 * The SMTP service's manifest: its settings schema (strict, every limit with a default) and its
 * default listeners. Imports nothing heavy: the supervisor loads it without loading the service.
 */
import { z } from 'zod';
import { byteSize, duration } from '@hearth/config/types';
export { loginLimits } from '@hearth/accounts';
import type { ServiceManifest } from '@hearth/runtime';
import { counters } from './counters.js';

/** What a listener is for: `mx` takes mail for local users from anyone, `submission` from our users. */
export const LISTENER_ROLES = ['mx', 'submission'] as const;
export type ListenerRole = (typeof LISTENER_ROLES)[number];

/** Roles of the default listener names; a config may name other listeners in `roles`. */
export const DEFAULT_ROLES: Readonly<Record<string, ListenerRole>> = {
  mx: 'mx',
  submission: 'submission',
  smtps: 'submission',
};

export const settingsSchema = z.strictObject({
  /** Our name in the greeting and in Received headers; default: the machine's host name. */
  hostname: z.string().min(1).optional(),
  /** Largest message accepted (announced in EHLO SIZE; bigger ones get 552). */
  maxMessageSize: byteSize().default(25_000_000),
  /** Recipients per message (more get 452 4.5.3). */
  maxRecipients: z.number().int().min(1).default(100),
  /** Longest command line in bytes (a longer one closes the connection with 421). */
  maxLineLength: byteSize().default(4096),
  /** A client silent this long while we wait for it gets 421 and is disconnected. */
  idleTimeout: duration().default(300_000),
  /**
   * On an implicit-TLS listener (SMTPS), the TLS handshake must be done within this; a client
   * still in it is disconnected (the handshake counts against the client limits meanwhile).
   */
  tlsHandshakeTimeout: duration().default(10_000),
  /** Concurrent sessions over all listeners of the service (more get 421 at connect). */
  maxClients: z.number().int().min(1).default(1000),
  /** Concurrent sessions from one IP address (more get 421 at connect). */
  maxClientsPerIp: z.number().int().min(1).default(100),
  /** Error replies (5xx) one session may provoke before it is dropped with 421. */
  maxBadCommands: z.number().int().min(1).default(20),
  /**
   * Pause before the greeting; a client talking before it is refused (pregreet check).
   * 0 greets at once.
   */
  greetingDelay: duration().default(0),
  /** Delay before answering a failed or refused AUTH (does not block other sessions). */
  loginFailureDelay: duration().default(2000),
  /** Failed logins allowed per client address within `failureWindow`; past it, AUTH is refused unchecked. */
  maxLoginFailuresPerIp: z.number().int().min(1).default(20),
  /**
   * Failed logins allowed per user within `failureWindow`; past it, AUTH for that user is slowed,
   * and refused unchecked from an address with that many failures for it.
   */
  maxLoginFailuresPerUser: z.number().int().min(1).default(10),
  /** A failure count is forgotten this long after its last failure. */
  failureWindow: duration().default(15 * 60_000),
  /**
   * Who receives mail for `postmaster` (bare and at every local domain, RFC 5321 4.5.1) when no
   * user is named postmaster; default: the first administrator with a maildrop.
   */
  postmaster: z.string().min(1).optional(),
  /** Role of each listener by name; merged over the defaults (mx, submission, smtps). */
  roles: z.record(z.string(), z.enum(LISTENER_ROLES)).default({}),
});

export type SmtpSettings = z.output<typeof settingsSchema>;

export const manifest: ServiceManifest<SmtpSettings> = {
  kind: 'smtp',
  settings: settingsSchema,
  counters,
  defaultListeners: [
    { name: 'mx', protocol: 'tcp', address: '127.0.0.1', port: 2025, tls: false },
    { name: 'submission', protocol: 'tcp', address: '127.0.0.1', port: 2587, tls: false },
    { name: 'smtps', protocol: 'tcp', address: '127.0.0.1', port: 2465, tls: true },
  ],
  listenerRule: { protocol: 'tcp' },
};

/** The role of listener `name`, or undefined when neither the config nor the defaults name it. */
export function roleOf(settings: SmtpSettings, name: string): ListenerRole | undefined {
  return settings.roles[name] ?? DEFAULT_ROLES[name];
}

