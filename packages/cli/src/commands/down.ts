import { controlRequest, socketIsLive } from '@hearth/supervisor/control';
import type { CliCommand } from '../command.js';
import { COMMON_USAGE, parse, socketPathOf } from '../options.js';

export const down: CliCommand = {
  name: 'down',
  summary: 'stop every service and the supervisor',
  usage: `Usage: hearth down [--data DIR] [--no-wait]

Asks the supervisor to stop every service in reverse dependency order, then waits until it
has exited (unless --no-wait).

${COMMON_USAGE}
  --no-wait          return once the supervisor has the request`,
  async run(argv, io) {
    const { values } = parse(argv, { 'no-wait': { type: 'boolean' } }, false);
    const socket = socketPathOf(values.data, io);
    await controlRequest(socket, { verb: 'down' }, { timeoutMs: 10_000 });
    if (!values['no-wait']) {
      while (await socketIsLive(socket)) await new Promise((r) => setTimeout(r, 100));
    }
    io.stdout.write('hearth: stopped\n');
    return 0;
  },
};
