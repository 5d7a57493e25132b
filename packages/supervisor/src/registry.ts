/**
 * The service kinds a config may name with `service: KIND`, and the embedded default's services
 * (`hearth up` without --config runs one of each). The supervisor knows no kind itself: the
 * program that composes the suite hands it this table as data. It is plain data (no functions)
 * because it crosses into the config worker thread with each request (`config-isolated.ts`).
 *
 * Each entry says where the kind's code is:
 * - `manifest`: a module and the name of its export holding the `ServiceManifest` (settings
 *   schema, default listeners, default dependencies). Read while reading the config, so the
 *   module should import nothing heavy (Hearth's services use their `src/config.ts`).
 * - `definition`: the same for the full `ServiceDefinition`, for `hearth run NAME`.
 * - `entry`: the absolute path of the JS file the supervisor runs with `node` (its main calls
 *   `runService`).
 *
 * `module` is a `file:` URL or an absolute path: resolve specifiers where the table is written
 * (`import.meta.resolve('@hearth/x/config')`), since the supervisor cannot resolve packages it
 * does not depend on.
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ServiceDefinition, ServiceManifest } from '@hearth/runtime';

/** A named export of a module. */
export interface ExportRef {
  /** `file:` URL or absolute path of the module. */
  readonly module: string;
  /** The name of the export. */
  readonly export: string;
}

export interface RegistryEntry {
  /** The service's manifest: settings schema, default listeners, default dependencies. */
  readonly manifest: ExportRef;
  /** The full definition, for `hearth run NAME` (runs the service in-process, no supervisor). */
  readonly definition: ExportRef;
  /** Absolute path of the JS file that runs the service (`node ENTRY`). */
  readonly entry: string;
}

/** Kind -> where its code is. */
export type Registry = Readonly<Record<string, RegistryEntry>>;

/** Imports `ref`'s module and returns the export it names; throws naming what is missing. */
export async function loadExport(ref: ExportRef): Promise<unknown> {
  const url = isAbsolute(ref.module) ? pathToFileURL(ref.module).href : ref.module;
  const mod = (await import(url)) as Record<string, unknown>;
  if (!Object.hasOwn(mod, ref.export) || mod[ref.export] === undefined) throw new Error(`${ref.module} has no export "${ref.export}"`);
  return mod[ref.export];
}

/** The manifest of `kind`, or undefined for a kind the registry does not list. */
export async function kindManifest(registry: Registry, kind: string): Promise<ServiceManifest<unknown> | undefined> {
  const entry = Object.hasOwn(registry, kind) ? registry[kind] : undefined;
  return entry ? ((await loadExport(entry.manifest)) as ServiceManifest<unknown>) : undefined;
}

/** The full definition of `kind` (for running it in-process); throws for a kind not listed. */
export async function kindDefinition(registry: Registry, kind: string): Promise<ServiceDefinition<unknown>> {
  const entry = Object.hasOwn(registry, kind) ? registry[kind] : undefined;
  if (!entry) throw new Error(`unknown service kind "${kind}"`);
  return (await loadExport(entry.definition)) as ServiceDefinition<unknown>;
}
