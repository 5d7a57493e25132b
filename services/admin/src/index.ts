/**
 * @hearth/admin: the web admin page. `definition` is what `runService` runs; `startAdminService`
 * takes a supervisor port and a route table for tests and embedding.
 */
import type { ServiceDefinition } from '@hearth/runtime';
import { manifest, type AdminSettings } from './config.js';
import { startAdminService } from './service.js';

export { manifest, settingsSchema, type AdminSettings } from './config.js';
export { counters } from './counters.js';
export { html, escapeText, Html } from './html.js';
export { routeTable, Router, type Access, type Method, type Route } from './routes.js';
export type { AppDeps, Principal, RequestContext } from './context.js';
export { CSP, SECURITY_HEADERS, type Reply } from './reply.js';
export { controlSocket, type SupervisorPort, type ReloadOutcome, type RawLogLine } from './control.js';
export { startAdminService, type AdminOptions } from './service.js';
export { COOKIE_NAME } from './sessions.js';
export { readSetupToken, setupLink, setupTokenFile } from './setup-link.js';
export { METRICS_CONTENT_TYPE, METRICS_TEXT_CONTENT_TYPE, counterMetricName, isLoopback, metricsAccess, negotiateMetricsFormat, renderMetrics, type MetricsAccess, type MetricsAuth, type MetricsFormat, type MetricsRow } from './metrics.js';
export { ADMIN_DIR, METRICS_TOKEN_FILE, metricsToken, metricsTokenPath, readMetricsToken } from './metrics-token.js';

export const definition: ServiceDefinition<AdminSettings> = {
  ...manifest,
  start: (ctx) => startAdminService(ctx),
};
