/**
 * Hearth's own service kinds: the table `hearth` hands to the supervisor (`runUp`) and to the
 * config reader, so that a config may say `service: smtp` and `hearth up` without --config runs
 * one service of each kind listed here, in this order.
 *
 * Plain data (it goes to the config worker thread with each request): for each kind, the module
 * holding its manifest (`@hearth/<kind>/config`, which imports nothing heavy), the module holding
 * its full definition (`@hearth/<kind>`, for `hearth run`), and the entry point the supervisor
 * runs with `node` (`@hearth/<kind>/main`, whose main.ts calls `runService`). Specifiers are
 * resolved here, where the services are dependencies; importing this module loads none of them.
 */
import { fileURLToPath } from 'node:url';
import type { Registry, RegistryEntry } from '@hearth/supervisor';

/** A service package laid out as Hearth's are: `./config` exports `manifest`, `.` exports `definition`, `./main` runs it. */
function hearthService(pkg: string): RegistryEntry {
  return {
    manifest: { module: import.meta.resolve(`${pkg}/config`), export: 'manifest' },
    definition: { module: import.meta.resolve(pkg), export: 'definition' },
    entry: fileURLToPath(import.meta.resolve(`${pkg}/main`)),
  };
}

export const KINDS: Registry = Object.freeze({
  biff: hearthService('@hearth/biff'),
  smtp: hearthService('@hearth/smtp'),
  pop3: hearthService('@hearth/pop3'),
  snmp: hearthService('@hearth/snmp'),
  files: hearthService('@hearth/files'),
  admin: hearthService('@hearth/admin'),
});
