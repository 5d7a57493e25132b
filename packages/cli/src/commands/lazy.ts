/**
 * Each verb's module, loaded on demand. `hearth up` lives as long as the suite: it loads only
 * `up.ts` and what that imports, not the mail store, the POP3 client and the rest that other
 * verbs need (about 4 MiB of RSS it would otherwise carry). Same verbs as `COMMANDS`.
 */
import type { CliCommand } from '../command.js';

export const VERB_LOADERS: Readonly<Record<string, () => Promise<CliCommand>>> = {
  up: async () => (await import('./up.js')).up,
  down: async () => (await import('./down.js')).down,
  status: async () => (await import('./status.js')).status,
  start: async () => (await import('./start.js')).start,
  stop: async () => (await import('./stop.js')).stop,
  restart: async () => (await import('./restart.js')).restart,
  reload: async () => (await import('./reload.js')).reload,
  check: async () => (await import('./check.js')).check,
  logs: async () => (await import('./logs.js')).logs,
  run: async () => (await import('./run.js')).run,
  user: async () => (await import('./user.js')).userCommand,
  mail: async () => (await import('./mail.js')).mailCommand,
  snmp: async () => (await import('./snmp.js')).snmpCommand,
  files: async () => (await import('./files.js')).filesCommand,
  admin: async () => (await import('./admin.js')).adminCommand,
};

/** The commands `runCli` needs for `argv[0]`: that verb alone, or all of them (help, unknown verb). */
export async function commandsFor(verb: string | undefined): Promise<readonly CliCommand[]> {
  const load = verb !== undefined && Object.hasOwn(VERB_LOADERS, verb) ? VERB_LOADERS[verb] : undefined;
  return load ? [await load()] : (await import('./index.js')).COMMANDS;
}
