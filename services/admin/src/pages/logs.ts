/**
 * Logs: the supervisor's ring of recent lines (per service, or every service by time), filtered
 * by service and least level, and a live tail (/live/logs, Server-Sent Events) that appends the
 * new lines matching the same filter. Every field of a line is shown escaped, as text.
 */
import type { RequestContext } from '../context.js';
import type { RawLogLine } from '../control.js';
import { html, type Html } from '../html.js';
import { page } from '../reply.js';
import type { Route } from '../routes.js';
import { layout } from './layout.js';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
type Level = (typeof LEVELS)[number];
const LEVEL_NUMBERS: Readonly<Record<Level, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
const OMITTED = new Set(['level', 'time', 'svc', 'pid', 'msg', 'hostname', 'v']);

export interface LogFilter {
  readonly service: string | undefined;
  readonly level: Level;
  readonly lines: number;
}

export interface ParsedLine {
  readonly svc: string;
  readonly level: Level;
  readonly time: number | undefined;
  readonly msg: string;
  /** The other fields, as `key=value` text. */
  readonly fields: string;
}

function levelName(n: unknown): Level {
  const num = typeof n === 'number' ? n : 30;
  let name: Level = 'trace';
  for (const l of LEVELS) if (num >= LEVEL_NUMBERS[l]) name = l;
  return name;
}

/** A captured line (a JSON line from a Hearth service, or plain text tagged by the supervisor). */
export function parseLine(raw: RawLogLine): ParsedLine {
  let obj: Record<string, unknown> | undefined;
  try {
    const v = JSON.parse(raw.line) as unknown;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) obj = v as Record<string, unknown>;
  } catch {
    obj = undefined;
  }
  if (obj === undefined) return { svc: raw.svc, level: 'info', time: undefined, msg: raw.line, fields: '' };
  const fields = Object.entries(obj)
    .filter(([k]) => !OMITTED.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return { svc: raw.svc, level: levelName(obj['level']), time: typeof obj['time'] === 'number' ? obj['time'] : undefined, msg: String(obj['msg'] ?? ''), fields };
}

const passes = (filter: LogFilter, l: ParsedLine): boolean => LEVEL_NUMBERS[l.level] >= LEVEL_NUMBERS[filter.level];

export function logRow(l: ParsedLine): Html {
  const time = l.time === undefined ? '' : new Date(l.time).toISOString().slice(11, 23);
  return html`<tr class="level-${l.level}"><td>${time}</td><td>${l.svc}</td><td>${l.level}</td><td>${l.msg}</td><td>${l.fields}</td></tr>`;
}

function filterOf(url: URL): LogFilter {
  const service = url.searchParams.get('service') || undefined;
  const level = LEVELS.find((l) => l === url.searchParams.get('level')) ?? 'info';
  const lines = Math.min(1000, Math.max(1, Number(url.searchParams.get('lines')) || 200));
  return { service, level, lines };
}

const query = (f: LogFilter): string => new URLSearchParams({ ...(f.service ? { service: f.service } : {}), level: f.level }).toString();

async function logsPage(ctx: RequestContext): Promise<Html> {
  const filter = filterOf(ctx.url);
  const { supervisor } = ctx.deps;
  const names = await supervisor.status().then((s) => s.map((x) => x.name), () => []);
  let rows: Html;
  let problem: string | undefined;
  try {
    const lines = (await supervisor.logs(filter.service, filter.lines)).map(parseLine).filter((l) => passes(filter, l));
    rows = html`${lines.map(logRow)}`;
  } catch (error) {
    rows = html``;
    problem = (error as Error).message;
  }
  return layout(
    ctx,
    'Logs',
    '/logs',
    html`<form method="get" action="/logs" class="filters">
<label for="service">Service</label> <select id="service" name="service"><option value="">every service</option>${names.map(
      (n) => html`<option value="${n}"${n === filter.service ? html` selected` : ''}>${n}</option>`,
    )}</select>
<label for="level">Least level</label> <select id="level" name="level">${LEVELS.map((l) => html`<option value="${l}"${l === filter.level ? html` selected` : ''}>${l}</option>`)}</select>
<label for="lines">Lines</label> <input id="lines" name="lines" type="number" min="1" max="1000" value="${filter.lines}">
<button type="submit">Show</button>
</form>
${problem ? html`<div class="notice error" role="alert"><p>${problem}</p></div>` : ''}
<p class="muted">The most recent lines the supervisor keeps, oldest first; new lines are added below as they are logged (with JavaScript).</p>
<div class="scroll"><table class="log">
<thead><tr><th scope="col">Time (UTC)</th><th scope="col">Service</th><th scope="col">Level</th><th scope="col">Message</th><th scope="col">Fields</th></tr></thead>
<tbody id="log" data-live="/live/logs?${query(filter)}" data-max="1000">${rows}</tbody>
</table></div>`,
    { script: 'live.js' },
  );
}

export const logRoutes: readonly Route[] = [
  { method: 'GET', path: '/logs', access: 'admin', run: async (ctx) => page(await logsPage(ctx)) },
  {
    method: 'GET',
    path: '/live/logs',
    access: 'admin',
    run: (ctx) => ({
      kind: 'events',
      async run(send, signal) {
        const filter = filterOf(ctx.url);
        ctx.deps.stats.add('liveStreams', 1);
        try {
          // An event first: the client knows the stream is open before any line arrives.
          send('open', '');
          await ctx.deps.supervisor.follow(
            filter.service,
            0,
            (raw) => {
              const l = parseLine(raw);
              if (passes(filter, l)) send('line', logRow(l).toString());
            },
            signal,
          );
        } finally {
          ctx.deps.stats.add('liveStreams', -1);
        }
      },
    }),
  },
];
