/** The SNMP service's own counters (served in its rows of the Hearth MIB like any service's). */
import { declareCounters } from '@hearth/metrics';

/** Prometheus sees the datagrams dropped unanswered as one family by reason. */
const dropped = (reason: 'parse_error' | 'bad_version' | 'bad_community' | 'unknown_user' | 'auth_failure' | 'other') => ({
  name: 'datagrams_dropped_total',
  labels: { reason },
  help: 'Datagrams dropped unanswered, by reason: not an SNMP message, SNMPv1, an unknown community, an unknown SNMPv3 user, a wrong digest or no decryption, other (proxy contexts, unexpected PDU types)',
});

/** Prometheus sees the reports sent instead of serving a request as one family by reason (RFC 3414's usmStats counters). */
const reported = (reason: 'unknown_engine_id' | 'not_in_time_window') => ({
  name: 'reports_total',
  labels: { reason },
  help: "Reports sent instead of serving an authenticated SNMPv3 request, by reason: another engine's ID (unknownEngineID), other engine boots or a time more than 150 s off (notInTimeWindow); discovery's reports are not counted",
});

export const counters = declareCounters({
  packets: { id: 1, type: 'counter', description: 'Datagrams received', unit: 'datagrams', key: true, prometheus: { name: 'datagrams_received_total' } },
  responses: { id: 2, type: 'counter', description: 'Responses and reports sent', unit: 'datagrams', key: true },
  parseErrors: { id: 3, type: 'counter', description: 'Datagrams that are not SNMP messages (garbage, truncated); dropped', unit: 'datagrams', key: true, prometheus: dropped('parse_error') },
  badVersions: { id: 4, type: 'counter', description: 'Messages of a version the agent does not serve (SNMPv1); dropped', unit: 'messages', prometheus: dropped('bad_version') },
  badCommunities: { id: 5, type: 'counter', description: 'SNMPv2c messages with an unknown community; dropped', unit: 'messages', prometheus: dropped('bad_community') },
  unknownUsers: { id: 6, type: 'counter', description: 'SNMPv3 messages for an unknown user; dropped', unit: 'messages', prometheus: dropped('unknown_user') },
  authFailures: { id: 7, type: 'counter', description: 'SNMPv3 messages with a wrong digest or that could not be decrypted; dropped', unit: 'messages', prometheus: dropped('auth_failure') },
  setsRefused: { id: 8, type: 'counter', description: 'SET requests, all refused (noAccess)', unit: 'requests' },
  bulkClamped: { id: 9, type: 'counter', description: 'GetBulk requests whose max-repetitions was lowered to the limit', unit: 'requests' },
  repliesCut: { id: 10, type: 'counter', description: 'Responses cut to the message size (GetBulk) or answered tooBig', unit: 'responses' },
  encodeErrors: { id: 11, type: 'counter', description: 'Responses that could not be encoded (answered genErr)', unit: 'responses' },
  otherDrops: { id: 12, type: 'counter', description: 'Other requests dropped (proxy contexts, unexpected PDU types)', unit: 'messages', prometheus: dropped('other') },
  unknownEngineIds: { id: 13, type: 'counter', description: 'Authenticated SNMPv3 requests for another engine ID; answered with an unknownEngineID report', unit: 'messages', prometheus: reported('unknown_engine_id') },
  notInTimeWindow: { id: 14, type: 'counter', description: 'Authenticated SNMPv3 requests with other engine boots or a time more than 150 s off (replays); answered with a notInTimeWindow report', unit: 'messages', prometheus: reported('not_in_time_window') },
});
