import { controlRequest } from '@hearth/supervisor/control';
import type { ServiceStatus } from '@hearth/supervisor';
import type { CliCommand } from '../command.js';
import { COMMON_USAGE, oneName, parse, socketPathOf } from '../options.js';

export const stop: CliCommand = {
  name: 'stop',
  summary: 'stop a service (it stays stopped until started)',
  usage: `Usage: hearth stop NAME [--data DIR]

The service drains and stops, then its listening sockets are closed: clients are refused
while it is down (an MTA moves on to its next MX). hearth start NAME binds them again.

${COMMON_USAGE}`,
  async run(argv, io) {
    const { values, positionals } = parse(argv, {});
    const name = oneName(positionals);
    const s = (await controlRequest(socketPathOf(values.data, io), { verb: 'stop', name })) as ServiceStatus;
    io.stdout.write(`${s.name}: ${s.state}${s.pid !== null ? ` (pid ${s.pid})` : ''}${s.reason ? `: ${s.reason}` : ''}\n`);
    return s.state === 'stopped' ? 0 : 1;
  },
};
