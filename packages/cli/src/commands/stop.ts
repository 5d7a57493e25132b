import { controlRequest } from '@hearth/supervisor/control';
import type { ServiceStatus } from '@hearth/supervisor';
import type { CliCommand } from '../command.js';
import { COMMON_USAGE, oneName, parse, socketPathOf } from '../options.js';

export const stop: CliCommand = {
  name: 'stop',
  summary: 'stop a service (it stays stopped until started)',
  usage: `Usage: hearth stop NAME [--data DIR]

The service drains and stops, then its listening sockets are closed: clients are refused
while it is down (an MTA moves on to its next MX). hearth start NAME binds them again. A
failed service stays failed (with its reason) until it is started. Exit code 0 once the
service runs no more, 1 otherwise.

${COMMON_USAGE}`,
  async run(argv, io) {
    const { values, positionals } = parse(argv, {});
    const name = oneName(positionals);
    const s = (await controlRequest(socketPathOf(values.data, io), { verb: 'stop', name })) as ServiceStatus;
    // SIGKILL is what the supervisor sends once stopTimeout has passed.
    const killed = s.state === 'stopped' && s.lastExit?.signal === 'SIGKILL' ? ' (killed: it did not exit within its stopTimeout)' : '';
    io.stdout.write(`${s.name}: ${s.state}${s.pid !== null ? ` (pid ${s.pid})` : ''}${killed}${s.reason ? `: ${s.reason}` : ''}\n`);
    // A failed service runs no more than a stopped one: it stays failed (its reason shown) until started.
    return s.state === 'stopped' || s.state === 'failed' ? 0 : 1;
  },
};
