import { controlRequest } from '@hearth/supervisor/control';
import type { ServiceResult, ServiceStatus } from '@hearth/supervisor/control';
import type { CliCommand } from '../command.js';
import { COMMON_USAGE, oneName, parse, socketPathOf } from '../options.js';

export const stop: CliCommand = {
  name: 'stop',
  summary: 'stop a service, and first what requires it (they stay stopped until started)',
  usage: `Usage: hearth stop NAME [--data DIR]

First every running service that requires NAME (requires:, directly or through others;
after: alone does not count) is stopped, each after what depends on it, then NAME, as
systemd's Requires= does: one line each, e.g. "webui: stopped (requires smtp)", and
hearth status says why each of them is stopped. Each drains and stops, then its listening
sockets are closed: clients are refused while it is down (an MTA moves on to its next MX).
hearth start NAME starts NAME again (and binds its sockets), not what was stopped with it.
A failed service stays failed (with its reason) until it is started. Exit code 0 once NAME
runs no more, 1 otherwise.

${COMMON_USAGE}`,
  async run(argv, io) {
    const { values, positionals } = parse(argv, {});
    const name = oneName(positionals);
    const s = (await controlRequest(socketPathOf(values.data, io), { verb: 'stop', name })) as ServiceResult;
    // Older supervisors stop NAME alone and send no stoppedWith.
    for (const d of s.stoppedWith ?? []) io.stdout.write(`${stopLine(d.status, [`requires ${d.requires}`])}\n`);
    io.stdout.write(`${stopLine(s, [])}${s.reason ? `: ${s.reason}` : ''}\n`);
    // A failed service runs no more than a stopped one: it stays failed (its reason shown) until started.
    return s.state === 'stopped' || s.state === 'failed' ? 0 : 1;
  },
};

/** `NAME: STATE (pid N) (NOTES)`: a kill at the deadline is one of the notes. */
function stopLine(s: ServiceStatus, notes: readonly string[]): string {
  // SIGKILL is what the supervisor sends once stopTimeout has passed.
  const killed = s.state === 'stopped' && s.lastExit?.signal === 'SIGKILL' ? ['killed: it did not exit within its stopTimeout'] : [];
  const all = [...notes, ...killed];
  return `${s.name}: ${s.state}${s.pid !== null ? ` (pid ${s.pid})` : ''}${all.length > 0 ? ` (${all.join('; ')})` : ''}`;
}
