/**
 * The dashboard: every supervised service with its state, pid, uptime, restarts, memory and key
 * counters (from `status` on the control socket), the start/stop/restart buttons and the config
 * reload. The table body is refreshed live by /live/services (Server-Sent Events, /static/live.js);
 * without JavaScript the page shows the figures of when it was loaded.
 */
import { dependentsOf } from '@hearth/supervisor/control';
import type { ServiceResult, ServiceStatus } from '@hearth/supervisor/control';
import type { AppDeps, RequestContext } from '../context.js';
import { SERVICE_ACTIONS, type ServiceAction } from '../control.js';
import { formatBytes, formatDuration } from '../format.js';
import { html, type Html } from '../html.js';
import { page, redirect } from '../reply.js';
import type { Route } from '../routes.js';
import type { Notice } from '../sessions.js';
import { csrfField, layout } from './layout.js';

function counters(s: ServiceStatus): Html {
  const key = (s.counters ?? []).filter((c) => c.key);
  if (key.length === 0) return html`<span class="muted">–</span>`;
  return html`<dl class="counters">${key.map((c) => html`<div><dt title="${c.description}">${c.name}</dt><dd>${c.value}</dd></div>`)}</dl>`;
}

function actions(ctx: RequestContext, s: ServiceStatus, status: readonly ServiceStatus[]): Html {
  if (s.name === ctx.deps.serviceName) return html`<span class="muted">this page</span>`;
  // The stop the server would refuse (it would stop this page too) is disabled, saying why.
  const refusal = stopRefusal(status, ctx.deps.serviceName, s.name);
  const allowed: Record<ServiceAction, boolean> = {
    start: s.state === 'stopped' || s.state === 'failed' || s.state === 'backoff',
    stop: s.state !== 'stopped' && refusal === undefined,
    restart: s.state === 'running' || s.state === 'failed' || s.state === 'backoff',
  };
  const why = (a: ServiceAction): Html | string => (a === 'stop' && refusal !== undefined ? html` title="${refusal}"` : '');
  return html`<form method="post" action="/services" class="inline">${csrfField(ctx)}<input type="hidden" name="name" value="${s.name}">${SERVICE_ACTIONS.map(
    (a) => html`<button type="submit" name="action" value="${a}"${allowed[a] ? '' : html` disabled`}${why(a)} aria-label="${a} ${s.name}">${a}</button> `,
  )}</form>${refusal !== undefined ? html`<br><small class="muted">not stopped from here: ${ctx.deps.serviceName} requires it</small>` : ''}`;
}

/** The rows of the service table (also what the live stream sends). */
export function serviceRows(ctx: RequestContext, status: readonly ServiceStatus[]): Html {
  return html`${status.map(
    (s) => html`<tr data-service="${s.name}">
<th scope="row">${s.name}</th>
<td>${s.kind ?? s.type}</td>
<td><span class="state state-${s.state}">${s.state}</span>${s.reason ? html`<br><small>${s.reason}</small>` : ''}</td>
<td>${s.pid ?? '–'}${s.standbyPid ? html`<br><small>standby ${s.standbyPid}</small>` : ''}</td>
<td>${formatDuration(s.uptimeMs)}</td>
<td>${s.restarts}</td>
<td>${formatBytes(s.rssBytes)}${s.standbyRssBytes ? html`<br><small>+ ${formatBytes(s.standbyRssBytes)}</small>` : ''}</td>
<td>${counters(s)}</td>
<td>${actions(ctx, s, status)}</td>
</tr>`,
  )}`;
}

async function dashboard(ctx: RequestContext): Promise<Html> {
  let rows: Html;
  try {
    rows = serviceRows(ctx, await ctx.deps.supervisor.status());
  } catch (error) {
    rows = html`<tr><td colspan="9">The supervisor did not answer: ${(error as Error).message}</td></tr>`;
  }
  return layout(
    ctx,
    'Dashboard',
    '/',
    html`<section aria-labelledby="services-h">
<h2 id="services-h">Services</h2>
<div class="scroll"><table>
<thead><tr><th scope="col">Service</th><th scope="col">Kind</th><th scope="col">State</th><th scope="col">PID</th><th scope="col">Uptime</th><th scope="col">Restarts</th><th scope="col">Memory</th><th scope="col">Key counters</th><th scope="col">Actions</th></tr></thead>
<tbody id="services" data-live="/live/services">${rows}</tbody>
</table></div>
</section>
<section aria-labelledby="config-h">
<h2 id="config-h">Configuration</h2>
<form method="post" action="/reload">${csrfField(ctx)}<button type="submit">Reload the config</button></form>
<p class="muted">Reads the config file again and applies the difference, as <code>hearth reload</code> does. A config with problems is refused and nothing changes.</p>
</section>`,
    { script: 'live.js' },
  );
}

function reloadNotice(outcome: Awaited<ReturnType<RequestContext['deps']['supervisor']['reload']>>): Notice {
  if (outcome.kind === 'refused') return { kind: 'error', text: 'The config was refused; nothing changed.', details: outcome.problems };
  const r = outcome.result;
  const parts: Array<[string, readonly string[]]> = [
    ['added', r.added],
    ['removed', r.removed],
    ['restarted', r.restarted],
    ['reloaded in place', r.reloaded],
    ['started, no longer held back', r.startedHeldBack ?? []],
    ['updated, from its next start', r.updatedNextStart ?? []],
    ['updated, still stopped', r.updatedStopped ?? []],
  ];
  const details = [
    ...parts.filter(([, names]) => names.length > 0).map(([what, names]) => `${what}: ${names.join(', ')}`),
    ...(r.stoppedForRequirement ?? []).map((s) => `${s.name}: stopped (requires ${s.requires}, which is ${s.state})`),
    ...(r.keptFailed ?? []).map((s) => `${s.name}: still failed (requires ${s.requires}, which is ${s.state})`),
    ...r.failed.map((f) => `failed: ${f.name}: ${f.error}`),
  ];
  const changed = details.length > 0;
  return { kind: r.failed.length > 0 ? 'error' : 'ok', text: changed ? 'The config was reloaded.' : 'The config was reloaded: nothing changed.', details };
}

/**
 * Why stopping `name` would stop this page, served by `own`: `own` requires it, directly or not,
 * and `hearth stop` first stops what requires the service stopped. Undefined when it does not.
 * `rows`: status rows, in start order, each with its requires (none from an older supervisor).
 */
function stopRefusal(rows: readonly ServiceStatus[], own: string, name: string): string | undefined {
  const nodes = rows.map((r) => ({ name: r.name, requires: r.requires ?? [], after: [] }));
  const page = dependentsOf(name, nodes, rows.map((r) => r.name)).find((d) => d.name === own);
  if (page === undefined) return undefined;
  return `${own} serves this page and requires ${page.through.join(', which requires ')}: stopping ${name} stops it too; use hearth stop ${name} from a terminal.`;
}

/** `stopRefusal` as the supervisor's status says now (the page shown may be older). */
async function stopsThisPage(deps: AppDeps, name: string): Promise<string | undefined> {
  return stopRefusal(await deps.supervisor.status(), deps.serviceName, name);
}

/** What the page says of a start, stop or restart, as `hearth start|stop|restart NAME` prints it. */
function actionNotice(action: ServiceAction, s: ServiceResult): Notice {
  const text = `${action} ${s.name}: ${s.state}${s.pid ? `, pid ${s.pid}` : ''}.`;
  const stoppedWith = s.stoppedWith ?? [];
  if (stoppedWith.length > 0) {
    return { kind: 'ok', text: `${text} Stopped first, as they require ${s.name}:`, details: stoppedWith.map((d) => `${d.status.name}: ${d.status.state} (requires ${d.requires})`) };
  }
  const still = s.stillStopped ?? [];
  const heldBack = s.startedHeldBack ?? [];
  const sentences = [
    text,
    ...(still.length > 0 ? [`Still stopped, requires ${s.name}: ${still.join(', ')}.`] : []),
    ...(heldBack.length > 0 ? [`Started, no longer held back: ${heldBack.join(', ')}.`] : []),
  ].join(' ');
  // Held back services that did not come up: the verb's error lines, as hearth start prints them.
  const failed = (s.heldBackFailed ?? []).map((f) => `not started: ${f.error}`);
  const kind = failed.length > 0 ? 'error' : 'ok';
  const startedWith = s.startedWith ?? [];
  if (startedWith.length === 0) return failed.length > 0 ? { kind, text: sentences, details: failed } : { kind, text: sentences };
  const details = startedWith.map((d) => `${d.status.name}: ${d.status.state} (required by ${d.requiredBy})`);
  return { kind, text: `${sentences} Started first, as ${s.name} requires them:`, details: [...details, ...failed] };
}

async function serviceAction(ctx: RequestContext, action: ServiceAction, name: string): Promise<Notice> {
  const { deps } = ctx;
  if (name === deps.serviceName) return { kind: 'error', text: `${name} serves this page: use hearth ${action} ${name} from a terminal.` };
  try {
    const refusal = action === 'stop' ? await stopsThisPage(deps, name) : undefined;
    if (refusal !== undefined) return { kind: 'error', text: refusal };
    deps.stats.inc('actions');
    deps.log.info({ action, service: name, user: ctx.principal.kind === 'user' ? ctx.principal.account.name : undefined }, 'service action');
    return actionNotice(action, await deps.supervisor.act(action, name));
  } catch (error) {
    return { kind: 'error', text: `${action} ${name} failed: ${(error as Error).message}` };
  }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export const dashboardRoutes: readonly Route[] = [
  { method: 'GET', path: '/', access: 'admin', run: async (ctx) => page(await dashboard(ctx)) },
  {
    method: 'GET',
    path: '/live/services',
    access: 'admin',
    run: (ctx) => ({
      kind: 'events',
      async run(send, signal) {
        ctx.deps.stats.add('liveStreams', 1);
        try {
          while (!signal.aborted) {
            const status = await ctx.deps.supervisor.status().catch(() => undefined);
            if (status && !send('rows', serviceRows(ctx, status).toString())) break;
            await sleep(ctx.deps.settings().liveInterval, signal);
          }
        } finally {
          ctx.deps.stats.add('liveStreams', -1);
        }
      },
    }),
  },
  {
    method: 'POST',
    path: '/services',
    access: 'admin',
    async run(ctx) {
      const name = ctx.form.get('name') ?? '';
      const action = SERVICE_ACTIONS.find((a) => a === ctx.form.get('action'));
      ctx.session.notice = action === undefined ? { kind: 'error', text: 'Choose start, stop or restart.' } : await serviceAction(ctx, action, name);
      return redirect('/');
    },
  },
  {
    method: 'POST',
    path: '/reload',
    access: 'admin',
    async run(ctx) {
      ctx.deps.stats.inc('actions');
      try {
        ctx.session.notice = reloadNotice(await ctx.deps.supervisor.reload());
      } catch (error) {
        ctx.session.notice = { kind: 'error', text: `The reload failed: ${(error as Error).message}` };
      }
      return redirect('/');
    },
  },
];
