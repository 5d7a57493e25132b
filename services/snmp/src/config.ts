/**
 * The SNMP service's manifest: its settings schema (strict, every bound with a default), its
 * counters and its default listener, 127.0.0.1:2161/udp. Imports nothing heavy: the supervisor
 * loads it without loading the service.
 */
import { z } from 'zod';
import type { ServiceManifest } from '@hearth/runtime';
import { counters } from './counters.js';

/** RFC 3414 asks for passwords of at least 8 characters (shorter ones are refused by net-snmp's tools). */
const secret = z.string().min(8, 'at least 8 characters').max(256);

const user = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(32)
    .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ -'),
  /** Authentication: SHA-2 only (HMAC-SHA-2, RFC 7860). */
  auth: z.strictObject({ protocol: z.enum(['sha224', 'sha256', 'sha384', 'sha512']).default('sha256'), key: secret }),
  /** Privacy: AES only (128, RFC 3826; or 256 in the Blumenthal or Reeder key extension). */
  priv: z.strictObject({ protocol: z.enum(['aes128', 'aes256b', 'aes256r']).default('aes128'), key: secret }),
});

export const settingsSchema = z.strictObject({
  /**
   * SNMPv2c read-only communities. Absent (and no users either): one community is generated at
   * first start and kept in DATA/snmp/community (0600); `hearth snmp credentials` prints it.
   */
  communities: z
    .array(z.string().min(8, 'at least 8 characters (a guessable community is a password anyone has)').max(64))
    .max(16)
    .optional(),
  /** SNMPv3 users, authPriv only (SHA-2 and AES). */
  users: z.array(user).max(16).default([]),
  /** The system group. */
  system: z
    .strictObject({
      /** sysDescr; default: "Hearth" and the host's OS. */
      descr: z.string().max(255).optional(),
      contact: z.string().max(255).default(''),
      /** sysName; default: the host name. */
      name: z.string().max(255).optional(),
      location: z.string().max(255).default(''),
    })
    .prefault({}),
  limits: z
    .strictObject({
      /** Highest GetBulk max-repetitions honoured (snmpbulkwalk asks for 10 by default). */
      maxRepetitions: z.number().int().min(1).max(1000).default(100),
      /** Most varbinds in one response. */
      maxVarbinds: z.number().int().min(1).max(10_000).default(1000),
      /** Largest response datagram in bytes (RFC 3417 asks agents to take at least 484). */
      maxMessageSize: z.number().int().min(484).max(65_507).default(65_507),
    })
    .prefault({}),
});

export type SnmpSettings = z.output<typeof settingsSchema>;

export const manifest: ServiceManifest<SnmpSettings> = {
  kind: 'snmp',
  settings: settingsSchema,
  counters,
  defaultListeners: [{ name: 'snmp', protocol: 'udp', address: '127.0.0.1', port: 2161, tls: false }],
  listenerRule: { protocol: 'udp' },
};
