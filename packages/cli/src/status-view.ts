/**
 * How `hearth status` shows services: the table (one row per service, its connections and key
 * counters included), one service with every counter, the in-place redraw of `--watch`, and the
 * rows `--json` prints.
 * Pure functions of the rows the supervisor returns, so they are tested without one.
 */
import type { CounterFigure } from '@hearth/metrics';
import type { ServiceStatus } from '@hearth/supervisor';

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

/** A count, short: 950, 12.3k, 4.5M, 7.0G. */
export function formatCount(n: number): string {
  if (n < 10_000) return String(n);
  if (n < 1e6) return `${(n / 1e3).toFixed(1)}k`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)}M`;
  return `${(n / 1e9).toFixed(1)}G`;
}

/** The running instance's memory, and the standby's after a `+` when there is one. */
function formatMemory(r: ServiceStatus): string {
  const standby = r.standbyRssBytes ?? null; // older supervisors do not report it
  return standby === null ? formatBytes(r.rssBytes) : `${formatBytes(r.rssBytes)} + ${formatBytes(standby)}`;
}

export function formatExit(e: ServiceStatus['lastExit']): string {
  if (!e) return '-';
  return e.signal ? `signal ${e.signal}` : `code ${e.code ?? '?'}`;
}

/**
 * Rows as `--json` prints them: each counter without its `prometheus` exposure (how the admin
 * service's /metrics names it), which the supervisor's rows carry for that page alone, so that
 * the printed JSON stays what it was.
 */
export function jsonRows<R extends ServiceStatus | readonly ServiceStatus[]>(shown: R): R {
  const one = (s: ServiceStatus): ServiceStatus => (s.counters ? { ...s, counters: s.counters.map(({ prometheus: _, ...c }) => c) } : s);
  return (Array.isArray(shown) ? shown.map(one) : one(shown as ServiceStatus)) as R;
}

/** Open connections: the key gauges counted in connections, added up; - when it declares none. */
export function connectionsOf(counters: readonly CounterFigure[]): string {
  const open = counters.filter((c) => c.key && c.type === 'gauge' && c.unit === 'connections');
  return open.length === 0 ? '-' : String(open.reduce((sum, c) => sum + c.value, 0));
}

/** The key counters other than open connections, as `name=value`. */
export function keyCounters(counters: readonly CounterFigure[]): string {
  return counters
    .filter((c) => c.key && !(c.type === 'gauge' && c.unit === 'connections'))
    .map((c) => `${c.name}=${formatCount(c.value)}`)
    .join(' ');
}

function widthsOf(table: readonly (readonly string[])[]): number[] {
  return table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
}

function layout(table: readonly (readonly string[])[], widths = widthsOf(table)): string[] {
  return table.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
}

/**
 * One row per service; a service with a note (why it failed, why it waits) has it on the line
 * below, under its state, so it shows at the start of a line whatever the width of the counters.
 */
export function statusTable(rows: readonly ServiceStatus[]): string {
  const table = [
    ['SERVICE', 'STATE', 'PID', 'STANDBY', 'MEMORY', 'UPTIME', 'RESTARTS', 'LAST EXIT', 'CONNS', 'COUNTERS'],
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
      connectionsOf(r.counters ?? []),
      keyCounters(r.counters ?? []),
    ]),
  ];
  const widths = widthsOf(table);
  const lines = layout(table, widths);
  const indent = ' '.repeat(widths[0]! + 2);
  return [lines[0]!, ...rows.flatMap((r, i) => (r.reason ? [lines[i + 1]!, `${indent}${r.reason}`] : [lines[i + 1]!]))].join('\n');
}

/** One service: its row as lines, then every counter it declares. */
export function serviceDetail(r: ServiceStatus): string {
  const head = [
    `${r.name}${r.kind ? ` (${r.kind})` : ''}: ${r.state}${r.reason ? ` (${r.reason})` : ''}`,
    `  pid ${r.pid ?? '-'}, standby ${r.standbyPid ?? '-'}, memory ${formatMemory(r)}, up ${formatUptime(r.uptimeMs)}, restarts ${r.restarts}, last exit ${formatExit(r.lastExit)}`,
    ...r.listeners.map((l) => `  listens ${l.name} ${l.address}:${l.port}/${l.protocol}`),
  ];
  const counters = r.counters ?? [];
  if (counters.length === 0) return `${head.join('\n')}\n  (no counters)`;
  const table = layout([['COUNTER', 'TYPE', 'VALUE', 'UNIT', 'DESCRIPTION'], ...counters.map((c) => [c.name, c.type, String(c.value), c.unit, c.description])]).join('\n');
  return `${head.join('\n')}\n\n${table}`;
}

/**
 * A frame cut to a terminal of `columns` x `rows`, as watch(1) and top cut theirs: each line to
 * one column less than the width (a line that wrapped would push the frame off the screen, and
 * every redraw would scroll it), and to one line less than the height. Unknown sizes cut nothing.
 */
export function fitFrame(frame: string, columns: number | undefined, rows: number | undefined): string {
  let lines = frame.split('\n');
  if (rows !== undefined && rows > 1) lines = lines.slice(0, rows - 1);
  if (columns !== undefined && columns > 1) lines = lines.map((l) => (l.length > columns - 1 ? l.slice(0, columns - 1) : l));
  return lines.join('\n');
}

/**
 * A full redraw for a terminal: cursor home, each line cleared to its end, then the rest of the
 * screen cleared, so a shorter frame leaves nothing of the previous one.
 */
export function redraw(frame: string): string {
  return `\x1b[H${frame
    .split('\n')
    .map((l) => `${l}\x1b[K`)
    .join('\n')}\n\x1b[J`;
}
