import { controlRequest } from '@hearth/supervisor/control';
import { UsageError, type CliCommand } from '../command.js';
import { COMMON_USAGE, parse, socketPathOf } from '../options.js';

const LEVELS: readonly (readonly [number, string])[] = [[60, 'FATAL'], [50, 'ERROR'], [40, 'WARN'], [30, 'INFO'], [20, 'DEBUG'], [10, 'TRACE']];
/** Fields the line's head already shows (or pino's own). */
const SHOWN = new Set(['level', 'time', 'svc', 'pid', 'msg', 'hostname', 'v']);

function levelName(level: unknown): string {
  const n = typeof level === 'number' ? level : 30;
  return LEVELS.find(([min]) => n >= min)?.[1] ?? 'TRACE';
}

/** A field's value as `key=value` shows it: bare when it has no space, quote or `=`, else quoted. */
function fieldValue(key: string, v: unknown): string {
  // An error is its message (the stack is in the JSON lines: --json).
  if (key === 'err' && v !== null && typeof v === 'object' && typeof (v as { message?: unknown }).message === 'string') v = (v as { message: string }).message;
  if (typeof v !== 'string') return JSON.stringify(v);
  return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
}

/**
 * One stored JSON log line as a human line for a terminal: time, service and pid, level, message,
 * then every other field as `key=value` (who failed to log in, and from where, is in the fields).
 */
export function humanLine(svc: string, line: string): string {
  let o: Record<string, unknown>;
  try {
    const v = JSON.parse(line) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return `${svc} ${line}`;
    o = v as Record<string, unknown>;
  } catch {
    return `${svc} ${line}`;
  }
  const t = typeof o['time'] === 'number' ? new Date(o['time']).toISOString().slice(11, 23) : '';
  const fields = Object.entries(o)
    .filter(([k, v]) => !SHOWN.has(k) && !(k === 'kind' && v === svc))
    .map(([k, v]) => `${k}=${fieldValue(k, v)}`);
  const pid = typeof o['pid'] === 'number' ? o['pid'] : '-';
  return [`${t} ${svc}[${pid}] ${levelName(o['level']).padEnd(5)} ${typeof o['msg'] === 'string' ? o['msg'] : line}`, ...fields].join(' ');
}

export const logs: CliCommand = {
  name: 'logs',
  summary: 'show recent log lines of one service or all, -f to follow',
  usage: `Usage: hearth logs [NAME] [-f] [-n LINES] [--data DIR]

Prints the supervisor's recent lines for NAME (all services without NAME): JSON lines, or on a
terminal one line each: time, service[pid], level, message and the other fields as key=value.

${COMMON_USAGE}
  -f, --follow       keep printing new lines until interrupted
  -n, --lines N      how many recent lines (default 100)
  --json             JSON lines even on a terminal`,
  async run(argv, io) {
    const { values, positionals } = parse(argv, {
      follow: { type: 'boolean', short: 'f' },
      lines: { type: 'string', short: 'n' },
      json: { type: 'boolean' },
    });
    if (positionals.length > 1) throw new UsageError('expected at most one service NAME');
    const lines = values.lines === undefined ? 100 : Number(values.lines);
    if (!Number.isInteger(lines) || lines < 0) throw new UsageError(`--lines must be a count (0 or more), not ${JSON.stringify(values.lines)}`);
    const human = io.stdout.isTTY === true && !values.json;
    const name = positionals[0];
    const controller = new AbortController();
    const onSigint = (): void => controller.abort();
    if (values.follow) process.once('SIGINT', onSigint);
    try {
      await controlRequest(
        socketPathOf(values.data, io),
        { verb: 'logs', ...(name !== undefined ? { name } : {}), lines, follow: values.follow === true },
        { onLog: (svc, line) => io.stdout.write(`${human ? humanLine(svc, line) : line}\n`), signal: controller.signal },
      );
    } finally {
      process.off('SIGINT', onSigint);
    }
    return 0;
  },
};
