import { ConfigError } from '@hearth/config';
import { KINDS } from '@hearth/suite';
import { loadConfig, resolveDataDir } from '@hearth/supervisor';
import type { ServiceConfig, SuiteConfig } from '@hearth/supervisor';
import { loadTlsMaterial, TlsMaterialError } from '@hearth/tls';
import type { CliCommand } from '../command.js';
import { COMMON_USAGE, parse } from '../options.js';
import { address } from '../listener-address.js';

export const check: CliCommand = {
  name: 'check',
  summary: 'read a config as hearth up would and report every problem, starting nothing',
  usage: `Usage: hearth check [--config FILE] [--data DIR]

Reads the config file (or the embedded default) as hearth up would, with every check hearth up
makes before it starts anything: keys and values, each Hearth service's settings, commands
found, requires known and free of cycles, cwd, user:, the tls pair (both or neither, and the
files of a configured pair read as the services read them at their start: each there and PEM,
the key the certificate's). Prints every problem, one a line, and exits 78; a valid config
prints its services with their listeners and exits 0.
Nothing is started or bound (a port another program holds shows only at hearth up), so it can
run beside a running suite: check the file before hearth reload.

${COMMON_USAGE}
  --config FILE      suite config file (default: the embedded default)`,
  async run(argv, io) {
    const { values } = parse(argv, { config: { type: 'string' } }, false);
    // A ConfigError or CycleError goes up to the dispatcher: every problem, exit 78.
    const config = await loadConfig(values.config, io.cwd, KINDS);
    const dataDir = resolveDataDir({ dataDir: values.data, env: io.env, cwd: io.cwd }, config);
    await checkTlsPair(config, dataDir);
    io.stdout.write(describe(config, dataDir));
    return 0;
  },
};

/**
 * A configured pair, read as each TLS service reads it at its start (only reads: a pair is
 * generated only when none is configured). hearth up would start, and the services using the
 * pair would each fail with exit 78.
 */
async function checkTlsPair(config: SuiteConfig, dataDir: string): Promise<void> {
  const { cert, key } = config.tls;
  if (cert === undefined || key === undefined) return;
  try {
    await loadTlsMaterial({ dataDir, cert, key });
  } catch (err) {
    if (!(err instanceof TlsMaterialError)) throw err;
    throw new ConfigError([{ file: config.file ?? 'the embedded default config', line: 0, column: 0, path: '', message: err.message }]);
  }
}

function describe(config: SuiteConfig, dataDir: string): string {
  const width = Math.max(...config.services.map((s) => s.name.length), 4);
  const lines = [
    `${config.file ?? 'the embedded default config'}: valid, ${config.services.length} ${config.services.length === 1 ? 'service' : 'services'}`,
    `data dir: ${dataDir}`,
  ];
  for (const s of config.services) lines.push(`  ${s.name.padEnd(width)}  ${what(s)}${listeners(s)}${needs(s)}`);
  return `${lines.join('\n')}\n`;
}

function what(s: ServiceConfig): string {
  switch (s.run.type) {
    case 'service':
      return `service ${s.run.kind}`;
    case 'module':
      return `module ${s.run.module}`;
    case 'command':
      return `command ${s.run.argv.join(' ')}`;
    case 'per-connection':
      return `per connection (at most ${s.run.maxInstances}) ${s.run.argv.join(' ')}`;
  }
}

function listeners(s: ServiceConfig): string {
  if (s.listen.length === 0) return '';
  const at = s.listen.map((l) => `${address(l)}${l.tls ? ' (tls)' : ''}`);
  return `; ${at.join(', ')}`;
}

function needs(s: ServiceConfig): string {
  const parts = [s.requires.length > 0 ? `requires ${s.requires.join(', ')}` : '', s.after.length > 0 ? `after ${s.after.join(', ')}` : ''].filter((p) => p !== '');
  return parts.length > 0 ? `; ${parts.join('; ')}` : '';
}
