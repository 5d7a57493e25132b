import { controlRequest } from '@hearth/supervisor/control';
import { UsageError, type CliCommand } from '../command.js';
import { COMMON_USAGE, parse, socketPathOf } from '../options.js';

/** One stored JSON log line as a short human line (for a terminal). */
export function humanLine(svc: string, line: string): string {
  try {
    const o = JSON.parse(line) as { time?: number; pid?: number; msg?: string; stream?: string };
    const t = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 23) : '';
    return `${t} ${svc}[${o.pid ?? '-'}] ${o.msg ?? line}`;
  } catch {
    return `${svc} ${line}`;
  }
}

export const logs: CliCommand = {
  name: 'logs',
  summary: 'show recent log lines of one service or all, -f to follow',
  usage: `Usage: hearth logs [NAME] [-f] [-n LINES] [--data DIR]

Prints the supervisor's recent lines for NAME (all services without NAME): JSON lines, or a
short human form on a terminal.

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
