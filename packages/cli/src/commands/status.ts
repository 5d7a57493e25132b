import { controlRequest } from '@hearth/supervisor/control';
import type { ServiceStatus } from '@hearth/supervisor';
import type { CliCommand } from '../command.js';
import { COMMON_USAGE, parse, socketPathOf } from '../options.js';

export function formatUptime(ms: number | null): string {
  if (ms === null) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

/** Bytes as `hearth status` shows them: 512K, 58.3M, 1.2G. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '-';
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)}K`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)}M`;
  return `${(bytes / 1024 ** 3).toFixed(1)}G`;
}

/** The running instance's memory, and the standby's after a `+` when there is one. */
function formatMemory(r: ServiceStatus): string {
  const standby = r.standbyRssBytes ?? null; // older supervisors do not report it
  return standby === null ? formatBytes(r.rssBytes) : `${formatBytes(r.rssBytes)} + ${formatBytes(standby)}`;
}

function formatExit(e: ServiceStatus['lastExit']): string {
  if (!e) return '-';
  return e.signal ? `signal ${e.signal}` : `code ${e.code ?? '?'}`;
}

export function statusTable(rows: readonly ServiceStatus[]): string {
  const table = [
    ['SERVICE', 'STATE', 'PID', 'STANDBY', 'MEMORY', 'UPTIME', 'RESTARTS', 'LAST EXIT', 'NOTE'],
    ...rows.map((r) => [
      r.name,
      r.state,
      r.pid === null ? '-' : String(r.pid),
      // Older supervisors do not report it.
      r.standbyPid === null || r.standbyPid === undefined ? '-' : String(r.standbyPid),
      formatMemory(r),
      formatUptime(r.uptimeMs),
      String(r.restarts),
      formatExit(r.lastExit),
      r.reason ?? '',
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export const status: CliCommand = {
  name: 'status',
  summary: 'show every service: state, pid, standby pid, memory, uptime, restarts, last exit',
  usage: `Usage: hearth status [--data DIR] [--json]

${COMMON_USAGE}
  --json             print a JSON array of {name, state, pid, standbyPid, rssBytes, standbyRssBytes,
                     restarts, uptimeMs, lastExit, ...}

STANDBY is the pid of the service's warm standby (loaded, holding its listeners, promoted at once
if the running instance dies), or - while there is none. MEMORY is the resident memory of the
service's process group (its process and what it started), then the standby's after a +.`,
  async run(argv, io) {
    const { values } = parse(argv, { json: { type: 'boolean' } }, false);
    const rows = (await controlRequest(socketPathOf(values.data, io), { verb: 'status' }, { timeoutMs: 10_000 })) as ServiceStatus[];
    io.stdout.write(values.json ? `${JSON.stringify(rows, null, 2)}\n` : `${statusTable(rows)}\n`);
    return 0;
  },
};
