import { controlRequest } from '@hearth/supervisor/control';
import type { ServiceStatus } from '@hearth/supervisor';
import type { CliCommand } from '../command.js';
import { COMMON_USAGE, oneName, parse, socketPathOf } from '../options.js';

export const start: CliCommand = {
  name: 'start',
  summary: 'start a service (clears a failed state)',
  usage: `Usage: hearth start NAME [--data DIR]

Starts the service, first starting what it requires (requires:) and is not running, in
dependency order. If one of those does not come up, NAME is not started and the error says
which and why. A failed service gets a fresh start: its crash-loop count is cleared. Exit
code 0 once it runs, 1 otherwise.

${COMMON_USAGE}`,
  async run(argv, io) {
    const { values, positionals } = parse(argv, {});
    const name = oneName(positionals);
    const s = (await controlRequest(socketPathOf(values.data, io), { verb: 'start', name })) as ServiceStatus;
    io.stdout.write(`${s.name}: ${s.state}${s.pid !== null ? ` (pid ${s.pid})` : ''}${s.reason ? `: ${s.reason}` : ''}\n`);
    return s.state === 'running' ? 0 : 1;
  },
};
