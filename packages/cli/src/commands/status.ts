import { setTimeout as sleep } from 'node:timers/promises';
import { controlRequest } from '@hearth/supervisor/control';
import type { ServiceStatus } from '@hearth/supervisor';
import { UsageError, type CliCommand } from '../command.js';
import { COMMON_USAGE, parse, socketPathOf } from '../options.js';
import { fitFrame, jsonRows, redraw, serviceDetail, statusTable } from '../status-view.js';

export { formatBytes, formatUptime, statusTable } from '../status-view.js';

function positiveNumber(value: string | undefined, option: string, fallback: number, integer: boolean): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new UsageError(`${option} must be a positive ${integer ? 'integer' : 'number'}, not ${JSON.stringify(value)}`);
  return n;
}

export const status: CliCommand = {
  name: 'status',
  summary: 'show every service (or one, with all its counters): state, pid, memory, uptime, restarts, connections, counters',
  usage: `Usage: hearth status [NAME] [--json] [--watch [--interval SECONDS] [--count N]] [--data DIR]

${COMMON_USAGE}
  --json             print JSON: an array of {name, state, pid, standbyPid, rssBytes, standbyRssBytes,
                     restarts, uptimeMs, lastExit, counters: [{name, type, value, unit, ...}], ...},
                     or that one object with NAME
  -w, --watch        show the figures again every interval: on a terminal the table is redrawn in
                     place, cut to the terminal's width and height; piped (or with --json) one
                     JSON line per interval. While no supervisor answers (stopped, restarting)
                     it says so and keeps asking
  --interval SECONDS time between two refreshes (default 1)
  --count N          stop after N refreshes (default: until interrupted)

STANDBY is the pid of the service's warm standby (loaded, holding its listeners, promoted at once
if the running instance dies), or - while there is none. MEMORY is the resident memory of the
service's process group (its process and what it started), then the standby's after a +. CONNS is
the connections open now; COUNTERS the service's key counters, totals since \`hearth up\` started
(they never go back while it runs). Why a service failed or waits is on the line below its row.
With NAME, every counter of that service is listed.`,
  async run(argv, io) {
    const { values, positionals } = parse(argv, {
      json: { type: 'boolean' },
      watch: { type: 'boolean', short: 'w' },
      interval: { type: 'string' },
      count: { type: 'string' },
    });
    if (positionals.length > 1) throw new UsageError('expected at most one service NAME');
    const name = positionals[0];
    if (!values.watch && (values.interval !== undefined || values.count !== undefined)) throw new UsageError('--interval and --count go with --watch');
    const intervalMs = positiveNumber(values.interval, '--interval', 1, false) * 1000;
    const count = positiveNumber(values.count, '--count', Number.POSITIVE_INFINITY, true);
    const socket = socketPathOf(values.data, io);

    const fetch = async (): Promise<ServiceStatus[] | ServiceStatus> => {
      const rows = (await controlRequest(socket, { verb: 'status' }, { timeoutMs: 10_000 })) as ServiceStatus[];
      if (name === undefined) return rows;
      const row = rows.find((r) => r.name === name);
      if (!row) throw new Error(`no service named ${JSON.stringify(name)} (services: ${rows.map((r) => r.name).join(', ') || 'none'})`);
      return row;
    };
    const text = (shown: ServiceStatus[] | ServiceStatus): string => (Array.isArray(shown) ? statusTable(shown) : serviceDetail(shown));

    if (!values.watch) {
      const shown = await fetch();
      io.stdout.write(values.json ? `${JSON.stringify(jsonRows(shown), null, 2)}\n` : `${text(shown)}\n`);
      return 0;
    }
    // A watch outlives the supervisor it watches: while none answers (stopped, restarting, a
    // shutdown under way) the screen says so and the next refresh asks again. Piped, the
    // outage is one line on stderr, not one per refresh.
    const table = io.stdout.isTTY === true && values.json !== true;
    let problem: string | undefined;
    for (let i = 0; i < count; i++) {
      let shown: ServiceStatus[] | ServiceStatus | undefined;
      const before = problem;
      try {
        shown = await fetch();
        problem = undefined;
      } catch (err) {
        problem = (err as Error).message;
      }
      if (table) {
        const heading = `hearth status${name === undefined ? '' : ` ${name}`}, every ${intervalMs / 1000}s: ${new Date().toLocaleTimeString()}`;
        const size = io.stdout as { columns?: number; rows?: number };
        io.stdout.write(redraw(fitFrame(`${heading}\n\n${shown !== undefined ? text(shown) : `${problem}\n(asking again every ${intervalMs / 1000}s)`}`, size.columns, size.rows)));
      } else if (shown !== undefined) {
        if (before !== undefined) io.stderr.write('hearth status: the supervisor answers again\n');
        io.stdout.write(`${JSON.stringify(jsonRows(shown))}\n`);
      } else if (problem !== before) io.stderr.write(`hearth status: ${problem}\n`);
      if (i + 1 < count) await sleep(intervalMs);
    }
    return problem === undefined ? 0 : 1;
  },
};
