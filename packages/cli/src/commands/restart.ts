import { controlRequest } from '@hearth/supervisor/control';
import type { RestartAllResult } from '@hearth/supervisor';
import type { ServiceResult } from '@hearth/supervisor/control';
import type { CliCommand } from '../command.js';
import { UsageError } from '../command.js';
import { COMMON_USAGE, parse, socketPathOf } from '../options.js';
import { heldBackFailedLines, startedHeldBackLine, startedWithLines, stillStoppedHint } from '../start-lines.js';

export const restart: CliCommand = {
  name: 'restart',
  summary: 'replace a service (or --all) by a new instance without losing a connection',
  usage: `Usage: hearth restart NAME [--data DIR]
       hearth restart --all [--data DIR]

A Hearth service (and a per-connection service) is restarted overlapped: the new instance
starts on the same held sockets and, once it is ready, the old one stops accepting, drains its
open sessions until its stopTimeout and exits. If the new instance does not become ready, it is
stopped, the old one keeps serving and the command fails. A plain command: service (it binds
its own ports) is stopped, then started. --all replaces every running service, one by one in
dependency order (an upgrade: new code on disk, then restart --all).

The services that require NAME are not restarted with it (systemd's Requires= would restart
them): an overlapped restart keeps NAME serving throughout, and a command's stop-then-start is
a gap like its restart after a crash, which leaves them running too. A stopped NAME is started
as by hearth start NAME, with its "still stopped, requires NAME: ..." line; as there, the
services hearth up held back for NAME (or for what it started first) are started too
("started, no longer held back: ...").

${COMMON_USAGE}
  --all              restart every running service`,
  async run(argv, io) {
    const { values, positionals } = parse(argv, { all: { type: 'boolean' } });
    const socket = socketPathOf(values.data, io);
    if (values.all) {
      if (positionals.length > 0) throw new UsageError('--all takes no service NAME');
      const r = (await controlRequest(socket, { verb: 'restart-all' })) as RestartAllResult;
      if (r.restarted.length > 0) io.stdout.write(`restarted: ${r.restarted.join(', ')}\n`);
      for (const f of r.failed) io.stderr.write(`hearth restart: ${f.error}\n`);
      return r.failed.length === 0 ? 0 : 1;
    }
    if (positionals.length !== 1 || !positionals[0]) throw new UsageError('expected exactly one service NAME (or --all)');
    const name = positionals[0];
    const s = (await controlRequest(socket, { verb: 'restart', name })) as ServiceResult;
    io.stdout.write(startedWithLines(s));
    const line = `${s.name}: ${s.state}${s.pid !== null ? ` (pid ${s.pid})` : ''}${s.reason ? `: ${s.reason}` : ''}\n`;
    if (s.state === 'running') {
      io.stdout.write(line);
      io.stdout.write(startedHeldBackLine(s));
      io.stdout.write(stillStoppedHint(s));
      io.stderr.write(heldBackFailedLines('restart', s));
      return 0;
    }
    io.stderr.write(`hearth restart: ${line}`);
    io.stdout.write(startedHeldBackLine(s));
    io.stderr.write(heldBackFailedLines('restart', s));
    return 1;
  },
};
