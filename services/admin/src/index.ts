/** @hearth/admin: the web admin page and the Prometheus endpoint of the suite. */
export { METRICS_CONTENT_TYPE, counterFamilyName, isLoopback, metricsAccess, renderMetrics, snakeCase, type MetricsAccess, type MetricsAuth, type MetricsRow } from './metrics.js';
export { ADMIN_DIR, METRICS_TOKEN_FILE, metricsToken, metricsTokenPath, readMetricsToken } from './metrics-token.js';
