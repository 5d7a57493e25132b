/**
 * Hearth's own services, by kind. Each entry loads the service's manifest (its `src/config.ts`,
 * subpath `@hearth/<kind>/config`, which imports nothing heavy) and names the entry point the
 * supervisor runs with `node` (`@hearth/<kind>/main`, whose main.ts calls `runService`).
 *
 * To add a kind: add `"@hearth/<kind>": "workspace:*"` to this package's dependencies (and a
 * tsconfig reference), then one line below, e.g.
 *
 *   smtp: {
 *     manifest: async () => (await import('@hearth/smtp/config')).manifest,
 *     definition: async () => (await import('@hearth/smtp')).definition,
 *     entry: () => fileURLToPath(import.meta.resolve('@hearth/smtp/main')),
 *   },
 *
 * (use whatever names the service exports for its manifest and definition; `fileURLToPath` from
 * `node:url`).
 *
 * The embedded default (`hearth up` without --config) runs every kind listed here.
 */
import { fileURLToPath } from 'node:url';
import type { ServiceDefinition, ServiceManifest } from '@hearth/runtime';

export interface RegistryEntry {
  /** The service's manifest: settings schema, default listeners, default dependencies. */
  readonly manifest: () => Promise<ServiceManifest<unknown>>;
  /** The full definition, for `hearth run NAME` (runs the service in-process, no supervisor). */
  readonly definition: () => Promise<ServiceDefinition<unknown>>;
  /** Absolute path of the JS file that runs the service (`node ENTRY`). */
  readonly entry: () => string;
}

export type Registry = Readonly<Record<string, RegistryEntry>>;

export const REGISTRY: Registry = {
  biff: {
    manifest: async () => (await import('@hearth/biff/config')).manifest as ServiceManifest<unknown>,
    definition: async () => (await import('@hearth/biff')).definition as ServiceDefinition<unknown>,
    entry: () => fileURLToPath(import.meta.resolve('@hearth/biff/main')),
  },
  smtp: {
    manifest: async () => (await import('@hearth/smtp/config')).manifest as ServiceManifest<unknown>,
    definition: async () => (await import('@hearth/smtp')).definition as ServiceDefinition<unknown>,
    entry: () => fileURLToPath(import.meta.resolve('@hearth/smtp/main')),
  },
  pop3: {
    manifest: async () => (await import('@hearth/pop3/config')).manifest as ServiceManifest<unknown>,
    definition: async () => (await import('@hearth/pop3')).definition as ServiceDefinition<unknown>,
    entry: () => fileURLToPath(import.meta.resolve('@hearth/pop3/main')),
  },
};
