import { controlRequest } from '@hearth/supervisor/control';
import type { ServiceResult } from '@hearth/supervisor/control';
import type { CliCommand } from '../command.js';
import { COMMON_USAGE, oneName, parse, socketPathOf } from '../options.js';
import { heldBackFailedLines, startedHeldBackLine, startedWithLines, stillStoppedHint } from '../start-lines.js';

export const start: CliCommand = {
  name: 'start',
  summary: 'start a service (clears a failed state)',
  usage: `Usage: hearth start NAME [--data DIR]

Starts the service, first starting what it requires (requires:) and is not running, in
dependency order, one line each ("db: running (pid 12) (required by api)"). If one of those
does not come up, NAME is not started and the error says which and why. A hearth stop of
NAME or of what it requires that is under way is let finish first (each service's stop takes
at most its stopTimeout), as systemd queues a start after a stop. What requires NAME is not
started with it (as with systemd): a line "still stopped, requires NAME: ..." names the
services that require it, directly or not, and are stopped (hearth stop NAME stops them
too), so you know what to start. The services that hearth up held back because NAME (or one
it started first) was not running are started, as hearth up meant them to, once all they
require runs: "started, no longer held back: ..." (one stopped by hearth stop since is not
held back); one that does not come up gets an error line, and the exit code is still NAME's.
A failed service gets a fresh start: its crash-loop count is cleared. Exit code 0 once it
runs, 1 otherwise.

${COMMON_USAGE}`,
  async run(argv, io) {
    const { values, positionals } = parse(argv, {});
    const name = oneName(positionals);
    const s = (await controlRequest(socketPathOf(values.data, io), { verb: 'start', name })) as ServiceResult;
    io.stdout.write(startedWithLines(s));
    io.stdout.write(`${s.name}: ${s.state}${s.pid !== null ? ` (pid ${s.pid})` : ''}${s.reason ? `: ${s.reason}` : ''}\n`);
    io.stdout.write(startedHeldBackLine(s));
    io.stdout.write(stillStoppedHint(s));
    io.stderr.write(heldBackFailedLines('start', s));
    return s.state === 'running' ? 0 : 1;
  },
};
