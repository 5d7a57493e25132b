import { KINDS } from '@hearth/suite';
import { runUp } from '@hearth/supervisor';
import type { CliCommand } from '../command.js';
import { COMMON_USAGE, parse } from '../options.js';
import { tuneV8ForSupervisor } from '../v8-tuning.js';

export const up: CliCommand = {
  name: 'up',
  summary: 'run the supervisor and every configured service in the foreground',
  usage: `Usage: hearth up [--config FILE] [--data DIR] [--log-level LEVEL]

Starts every service in dependency order and supervises them until SIGTERM, SIGINT or
"hearth down"; then stops them in reverse order. Without --config, runs every Hearth service
with its default (loopback, port + 2000) listeners. Exit code: 0 if everything stopped
cleanly, 78 for a config error, 1 otherwise.

${COMMON_USAGE}`,
  async run(argv, io) {
    const { values } = parse(argv, {}, false);
    // This process lives as long as the suite: keep its young generation small.
    tuneV8ForSupervisor();
    return runUp({
      registry: KINDS,
      configFile: values.config,
      dataDir: values.data,
      logLevel: values['log-level'],
      env: io.env,
      cwd: io.cwd,
      stderr: io.stderr,
    });
  },
};
