/**
 * `node @hearth/runtime/launch MODULE`: run a service module that exports `definition` (a
 * ServiceDefinition) under the supervisor. For services given in the config as `module: ./x.js`.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runService } from './run-service.js';
import type { ServiceDefinition } from './service.js';

/** Until runService installs its own handlers: a stray signal during loading must not kill us. */
const EARLY_SIGNALS = ['SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGPIPE'] as const;
const ignore = (): void => {};

async function main(): Promise<number> {
  for (const sig of EARLY_SIGNALS) process.on(sig, ignore);
  const target = process.argv[2];
  if (!target) {
    process.stderr.write('usage: launch MODULE (a module exporting `definition`)\n');
    return 64;
  }
  const url = target.startsWith('file:') ? target : pathToFileURL(isAbsolute(target) ? target : resolve(target)).href;
  let mod: { definition?: ServiceDefinition<unknown> };
  try {
    mod = (await import(url)) as typeof mod;
  } catch (err) {
    process.stderr.write(`launch: cannot load ${target}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 78;
  }
  const def = mod.definition;
  if (!def || typeof def.start !== 'function' || typeof def.kind !== 'string' || !def.settings) {
    process.stderr.write(`launch: ${target} does not export a service \`definition\` (kind, settings, start)\n`);
    return 78;
  }
  const code = runService(def); // installs the service's signal handlers synchronously
  for (const sig of EARLY_SIGNALS) process.off(sig, ignore);
  return code;
}

process.exit(await main());
