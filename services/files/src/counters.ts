/** The file service's counters, declared once for every view (`hearth status`, SNMP, /metrics). */
import { declareCounters, type CounterSet, type NamesOf } from '@hearth/metrics';
import type { Method } from './methods/index.js';

/** Prometheus sees the requests as one family by method, the responses as one by status class. */
const requests = (method: Method | 'other') => ({ name: 'requests_total', labels: { method }, help: 'HTTP requests by method (other: a method the service does not support, answered 501)' });
const responses = (code: '2xx' | '3xx' | '4xx' | '5xx') => ({ name: 'responses_total', labels: { code }, help: 'HTTP responses by status class' });

export const counters = declareCounters({
  connectionsTotal: { id: 1, type: 'counter', description: 'Connections accepted (HTTP and HTTPS)', unit: 'connections' },
  connectionsOpen: { id: 2, type: 'gauge', description: 'Connections open now', unit: 'connections', key: true },
  authSuccesses: { id: 3, type: 'counter', description: 'Sessions authenticated (a connection whose Basic credentials were accepted)', unit: 'sessions', key: true },
  authFailures: { id: 4, type: 'counter', description: 'Wrong credentials', unit: 'attempts', key: true },
  loginsRefused: { id: 5, type: 'counter', description: 'Logins refused without wrong credentials: by the failed-login limits, or a disabled account', unit: 'attempts' },
  requestsOptions: { id: 6, type: 'counter', description: 'OPTIONS requests', unit: 'requests', prometheus: requests('OPTIONS') },
  requestsGet: { id: 7, type: 'counter', description: 'GET requests', unit: 'requests', key: true, prometheus: requests('GET') },
  requestsHead: { id: 8, type: 'counter', description: 'HEAD requests', unit: 'requests', prometheus: requests('HEAD') },
  requestsPut: { id: 9, type: 'counter', description: 'PUT requests', unit: 'requests', key: true, prometheus: requests('PUT') },
  requestsDelete: { id: 10, type: 'counter', description: 'DELETE requests', unit: 'requests', prometheus: requests('DELETE') },
  requestsMkcol: { id: 11, type: 'counter', description: 'MKCOL requests', unit: 'requests', prometheus: requests('MKCOL') },
  requestsCopy: { id: 12, type: 'counter', description: 'COPY requests', unit: 'requests', prometheus: requests('COPY') },
  requestsMove: { id: 13, type: 'counter', description: 'MOVE requests', unit: 'requests', prometheus: requests('MOVE') },
  requestsPropfind: { id: 14, type: 'counter', description: 'PROPFIND requests', unit: 'requests', key: true, prometheus: requests('PROPFIND') },
  requestsProppatch: { id: 15, type: 'counter', description: 'PROPPATCH requests', unit: 'requests', prometheus: requests('PROPPATCH') },
  requestsLock: { id: 16, type: 'counter', description: 'LOCK requests', unit: 'requests', prometheus: requests('LOCK') },
  requestsUnlock: { id: 17, type: 'counter', description: 'UNLOCK requests', unit: 'requests', prometheus: requests('UNLOCK') },
  requestsOther: { id: 18, type: 'counter', description: 'Requests with a method the service does not support (501)', unit: 'requests', prometheus: requests('other') },
  responses2xx: { id: 19, type: 'counter', description: 'Responses with a 2xx status', unit: 'responses', prometheus: responses('2xx') },
  responses3xx: { id: 20, type: 'counter', description: 'Responses with a 3xx status (304 Not Modified)', unit: 'responses', prometheus: responses('3xx') },
  responses4xx: { id: 21, type: 'counter', description: 'Responses with a 4xx status', unit: 'responses', key: true, prometheus: responses('4xx') },
  responses5xx: { id: 22, type: 'counter', description: 'Responses with a 5xx status', unit: 'responses', key: true, prometheus: responses('5xx') },
  bytesIn: { id: 23, type: 'counter', description: 'Bytes received on connections, request heads included (counted when the counters are read and as each connection closes)', unit: 'bytes', prometheus: { name: 'received_bytes_total' } },
  bytesOut: { id: 24, type: 'counter', description: 'Bytes sent on connections, response heads included (counted when the counters are read and as each connection closes)', unit: 'bytes', prometheus: { name: 'sent_bytes_total' } },
  transfersCurrent: { id: 25, type: 'gauge', description: 'Uploads (PUT) and file downloads (GET of a file body) in progress', unit: 'transfers', key: true },
});

export type FilesCounters = CounterSet<typeof counters>;

/** The request counter of each method. */
export const requestCounter: Readonly<Record<Method, NamesOf<typeof counters, 'counter'>>> = {
  OPTIONS: 'requestsOptions',
  GET: 'requestsGet',
  HEAD: 'requestsHead',
  PUT: 'requestsPut',
  DELETE: 'requestsDelete',
  MKCOL: 'requestsMkcol',
  COPY: 'requestsCopy',
  MOVE: 'requestsMove',
  PROPFIND: 'requestsPropfind',
  PROPPATCH: 'requestsProppatch',
  LOCK: 'requestsLock',
  UNLOCK: 'requestsUnlock',
};

/** The response counter of a final status. */
export function responseCounter(status: number): NamesOf<typeof counters, 'counter'> | undefined {
  if (status >= 500) return 'responses5xx';
  if (status >= 400) return 'responses4xx';
  if (status >= 300) return 'responses3xx';
  if (status >= 200) return 'responses2xx';
  return undefined;
}
