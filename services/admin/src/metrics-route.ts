/**
 * `GET /metrics` in the route table: public and without a session (no cookie read or set), with
 * its own check (the bearer token, or a loopback peer when `metrics.auth` is `loopback`), then the
 * status rows from the control socket rendered in the format the scraper's Accept asks for
 * (OpenMetrics or the Prometheus text format, `metrics.ts`).
 */
import type { RequestContext } from './context.js';
import { METRICS_CONTENT_TYPE, METRICS_TEXT_CONTENT_TYPE, metricsAccess, negotiateMetricsFormat, renderMetrics, type MetricsAuth } from './metrics.js';
import type { Reply } from './reply.js';
import type { Route } from './routes.js';

const plain = 'text/plain; charset=utf-8';

function authOf(ctx: RequestContext): MetricsAuth {
  return ctx.deps.settings().metrics.auth === 'loopback' ? { kind: 'loopback' } : { kind: 'token', token: ctx.deps.metricsToken };
}

async function scrape(ctx: RequestContext): Promise<Reply> {
  const access = metricsAccess(authOf(ctx), ctx.req.headers.authorization, ctx.req.socket.remoteAddress);
  if (!access.ok) {
    ctx.deps.log.warn({ remote: ctx.remote, reason: access.reason }, 'metrics scrape refused');
    return { kind: 'text', status: access.status, contentType: plain, body: `${access.reason}\n`, headers: access.headers };
  }
  let rows;
  try {
    rows = await ctx.deps.supervisor.status();
  } catch (error) {
    ctx.deps.log.error({ err: error }, 'metrics: the supervisor did not answer');
    return { kind: 'text', status: 503, contentType: plain, body: 'the supervisor did not answer\n' };
  }
  const format = negotiateMetricsFormat(ctx.req.headers.accept);
  const contentType = format === 'openmetrics' ? METRICS_CONTENT_TYPE : METRICS_TEXT_CONTENT_TYPE;
  return { kind: 'text', status: 200, contentType, body: await renderMetrics(rows, format), headers: { vary: 'Accept' } };
}

// No session: a scraper keeps no cookie, so none is read, set or kept for it.
export const metricsRoutes: readonly Route[] = [{ method: 'GET', path: '/metrics', access: 'public', session: 'none', run: scrape }];
