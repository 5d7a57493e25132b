import { metricsTokenPath, readMetricsToken } from '@hearth/admin/metrics-token';
import { UsageError, type CliCommand } from '../command.js';
import { COMMON_USAGE, dataDirOf, parse } from '../options.js';

export const adminCommand: CliCommand = {
  name: 'admin',
  summary: 'web admin service: print the bearer token of its /metrics endpoint (admin metrics-token)',
  usage: `Usage: hearth admin metrics-token [--json] [--data DIR]

Prints the bearer token that /metrics on the admin listener asks for. The admin service generated
it at its first start into DATA/admin/metrics-token (mode 0600); a Prometheus scrape config can
name that file as its credentials_file. For example:

  curl --cacert DATA/tls/self-signed/cert.pem -H "Authorization: Bearer $(hearth admin metrics-token)" \\
    https://localhost:2843/metrics

${COMMON_USAGE}
  --json             print {"token": "...", "file": "..."}`,
  async run(argv, io) {
    const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
    if (positionals.length !== 1 || positionals[0] !== 'metrics-token') throw new UsageError('expected: hearth admin metrics-token');
    const data = dataDirOf(values.data, io);
    const token = readMetricsToken(data);
    if (token === undefined) {
      io.stderr.write(`hearth admin: no metrics token in ${metricsTokenPath(data)}: the admin service has not started yet\n`);
      return 1;
    }
    io.stdout.write(values.json ? `${JSON.stringify({ token, file: metricsTokenPath(data) })}\n` : `${token}\n`);
    return 0;
  },
};
