import { pathToFileURL } from 'node:url';
import { runStandalone } from '@hearth/runtime';
import type { ServiceDefinition } from '@hearth/runtime';
import { KINDS } from '@hearth/suite';
import { kindDefinition, loadConfig, pickDefinition, resolveDataDir } from '@hearth/supervisor';
import type { CliCommand } from '../command.js';
import { COMMON_USAGE, CONFIG_OPTIONS, CONFIG_USAGE, logLevelOf, oneName, parse } from '../options.js';

export const run: CliCommand = {
  name: 'run',
  summary: 'run one Hearth service in the foreground, without a supervisor',
  usage: `Usage: hearth run NAME [--config FILE] [--data DIR] [--log-level LEVEL]

Runs service NAME from the config (or the embedded default) on its own: it binds its own
listeners, SIGTERM/SIGINT stop it, SIGHUP reloads its settings. For debugging and
one-service containers. With the service's user: (hearth run as root), the listeners are
bound first, then the process runs as that user before the service starts.

${COMMON_USAGE}
${CONFIG_USAGE}`,
  async run(argv, io) {
    const { values, positionals } = parse(argv, CONFIG_OPTIONS);
    const name = oneName(positionals);
    const logLevelOption = logLevelOf(values['log-level']);
    const config = await loadConfig(values.config, io.cwd, KINDS);
    const svc = config.services.find((s) => s.name === name);
    if (!svc) throw new Error(`no service named "${name}" (configured: ${config.services.map((s) => s.name).join(', ') || 'none'})`);
    let definition: ServiceDefinition<unknown>;
    if (svc.run.type === 'command' || svc.run.type === 'per-connection') throw new Error(`${name} is a command, not a Hearth service: run it directly`);
    if (svc.run.type === 'module') {
      const mod = (await import(pathToFileURL(svc.run.module).href)) as Record<string, unknown>;
      const def = pickDefinition(mod);
      if (!def) throw new Error(`${svc.run.module} does not export a service definition`);
      definition = def;
    } else {
      definition = await kindDefinition(KINDS, svc.run.kind);
    }
    const logLevel = logLevelOption ?? config.logLevel;
    return runStandalone(definition, {
      name,
      settings: svc.settings,
      suite: { dataDir: resolveDataDir({ dataDir: values.data, env: io.env, cwd: io.cwd }, config), mail: config.mail, tls: config.tls },
      listeners: svc.listen,
      logLevel,
      stopTimeoutMs: svc.stopTimeoutMs,
      ...(svc.user ? { user: svc.user } : {}),
      reload: async () => {
        // Run as the service's user, the process is no longer root: its user: is looked up as root's would be.
        const next = await loadConfig(values.config, io.cwd, KINDS, svc.user !== undefined);
        const s = next.services.find((x) => x.name === name);
        if (!s) throw new Error(`service "${name}" is no longer in the config`);
        if (s.user?.name !== svc.user?.name) throw new Error(`user: of "${name}" changed (${svc.user?.name ?? 'none'} -> ${s.user?.name ?? 'none'}): a new hearth run takes it`);
        return { settings: s.settings, suite: { dataDir: resolveDataDir({ dataDir: values.data, env: io.env, cwd: io.cwd }, next), mail: next.mail, tls: next.tls } };
      },
    });
  },
};
