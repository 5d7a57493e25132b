/**
 * @hearth/metrics: counters declared once per service (name, type, description, unit, a stable
 * id), kept live by the service, added up across its instances by the supervisor, and handed to
 * every view as figures, with how Prometheus names each (a metric name and labels). Knows no
 * service by name.
 */
export { declareCounters, declarationProblems, describeCounters, parseDeclaration, type CounterDeclaration, type CounterSpec, type CounterType, type NamesOf } from './declare.js';
export { CounterReporter, CounterSet, polledCounters, refreshedCounters, type CounterSource, type CounterValues, type ReportSink } from './counter-set.js';
export { prometheusHelp, prometheusName, prometheusProblems, snakeCase, type PrometheusExposure } from './prometheus.js';
export { CounterTotals, parseCounterValues } from './totals.js';
export {
  SERVICE_RUN_STATES,
  counterFigure,
  parseFigures,
  type CounterFigure,
  type FiguresSnapshot,
  type ServiceFigures,
  type ServiceRunState,
} from './figures.js';
