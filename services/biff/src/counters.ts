/** biff's counters, declared once for every view (`hearth status`, SNMP, /metrics); the notifier keeps them. */
import { declareCounters } from '@hearth/metrics';

/** Prometheus sees the comsat datagrams dropped as one family by reason. */
const dropped = (reason: 'rate_limited' | 'malformed' | 'oversized' | 'unknown_user') => ({
  name: 'datagrams_dropped_total',
  labels: { reason },
  help: 'Comsat datagrams dropped, by reason: over a rate limit, not user@offset[:mailbox], longer than maxDatagramSize, naming a user no account can have',
});

/**
 * The notifications' counters are named for what they count, apart from the comsat datagrams':
 * sent and dropped as Prometheus names its own notifier's (each its own metric).
 */
export const counters = declareCounters({
  received: { id: 1, type: 'counter', description: 'Comsat datagrams received', unit: 'datagrams', key: true, prometheus: { name: 'datagrams_received_total' } },
  malformed: { id: 2, type: 'counter', description: 'Comsat datagrams that are not user@offset[:mailbox]; dropped', unit: 'datagrams', key: true, prometheus: dropped('malformed') },
  oversized: { id: 3, type: 'counter', description: 'Comsat datagrams longer than maxDatagramSize; dropped', unit: 'datagrams', prometheus: dropped('oversized') },
  rateLimited: { id: 4, type: 'counter', description: 'Comsat datagrams refused by a rate limit', unit: 'datagrams', key: true, prometheus: dropped('rate_limited') },
  unknownUser: { id: 5, type: 'counter', description: 'Comsat datagrams naming a user no account can have', unit: 'datagrams', prometheus: dropped('unknown_user') },
  delivered: { id: 6, type: 'counter', description: 'Deliveries announced on the bus (mail.delivered)', unit: 'messages', prometheus: { name: 'delivery_notices_received_total', help: 'New-mail notices received on the bus (mail.delivered), each of a batch counted' } },
  unwatched: { id: 7, type: 'counter', description: 'Notices for a user nobody subscribed to', unit: 'notices', prometheus: { name: 'notices_unwatched_total', help: 'New-mail notices (comsat or mail.delivered) for a user nobody subscribed to' } },
  notified: { id: 8, type: 'counter', description: 'Notifications routed to subscribing services', unit: 'notifications', key: true, prometheus: { name: 'notifications_sent_total', help: 'Notifications sent on the bus to subscribing services (mail.notify)' } },
  dropped: { id: 9, type: 'counter', description: "Notifications dropped (a subscriber's queue full, or the bus refusing)", unit: 'notifications', key: true, prometheus: { name: 'notifications_dropped_total' } },
  refused: { id: 10, type: 'counter', description: 'Subscriptions refused by a limit', unit: 'subscriptions', prometheus: { name: 'subscriptions_refused_total' } },
  badMessages: { id: 11, type: 'counter', description: 'Bus messages with an unusable payload', unit: 'messages', prometheus: { name: 'bus_messages_ignored_total', help: 'Bus messages with an unusable payload, ignored (each unusable notice of a mail.delivered batch counted)' } },
  subscriptions: { id: 12, type: 'gauge', description: '(service, instance, user) subscriptions held', unit: 'subscriptions' },
  queued: { id: 13, type: 'gauge', description: 'Notifications waiting in the per-subscriber queues', unit: 'notifications', prometheus: { name: 'notifications_queued' } },
  sources: { id: 14, type: 'gauge', description: 'Comsat source addresses whose rate buckets are remembered', unit: 'addresses' },
});
