import { KINDS } from '@hearth/suite';
import { runUp } from '@hearth/supervisor';
import type { CliCommand } from '../command.js';
import { COMMON_USAGE, CONFIG_OPTIONS, CONFIG_USAGE, logLevelOf, parse } from '../options.js';
import { tuneV8ForSupervisor } from '../v8-tuning.js';

export const up: CliCommand = {
  name: 'up',
  summary: 'run the supervisor and every configured service in the foreground',
  usage: `Usage: hearth up [--config FILE] [--data DIR] [--log-level LEVEL]

Starts every service in dependency order and supervises them until SIGTERM, SIGINT or
"hearth down"; then stops them in reverse order. Without --config, runs every Hearth service
with its default (loopback, port + 2000) listeners. On a terminal, prints each service with its
addresses, the data dir and how to add a first user once everything is ready; log lines are
one line per event there, JSON lines otherwise. Exit code: 0 if everything stopped
cleanly, 78 for a config error, 1 otherwise.

${COMMON_USAGE}
${CONFIG_USAGE}`,
  async run(argv, io) {
    const { values } = parse(argv, CONFIG_OPTIONS, false);
    const logLevel = logLevelOf(values['log-level']);
    // This process lives as long as the suite: keep its young generation small.
    tuneV8ForSupervisor();
    return runUp({
      registry: KINDS,
      configFile: values.config,
      dataDir: values.data,
      logLevel,
      env: io.env,
      cwd: io.cwd,
      stderr: io.stderr,
      // On a terminal, a summary once everything is ready (loaded only then: the supervisor stays lean).
      ...(io.stdout.isTTY === true
        ? { onReady: async ({ status, dataDir }) => void io.stdout.write(await (await import('../ready-summary.js')).readySummary(status, dataDir)) }
        : {}),
    });
  },
};
