/** biff's counters, declared once for every view (`hearth status`, SNMP); the notifier keeps them. */
import { declareCounters } from '@hearth/metrics';

/** Prometheus sees the comsat datagrams dropped as one family by reason. */
const dropped = (reason: 'rate_limited' | 'malformed' | 'oversized' | 'unknown_user') => ({
  name: 'datagrams_dropped_total',
  labels: { reason },
  help: 'Comsat datagrams dropped, by reason: over a rate limit, not user@offset[:mailbox], longer than maxDatagramSize, naming a user no account can have',
});

export const counters = declareCounters({
  received: { id: 1, type: 'counter', description: 'Comsat datagrams received', unit: 'datagrams', key: true, prometheus: { name: 'datagrams_received_total' } },
  malformed: { id: 2, type: 'counter', description: 'Comsat datagrams that are not user@offset[:mailbox]; dropped', unit: 'datagrams', key: true, prometheus: dropped('malformed') },
  oversized: { id: 3, type: 'counter', description: 'Comsat datagrams longer than maxDatagramSize; dropped', unit: 'datagrams', prometheus: dropped('oversized') },
  rateLimited: { id: 4, type: 'counter', description: 'Comsat datagrams refused by a rate limit', unit: 'datagrams', key: true, prometheus: dropped('rate_limited') },
  unknownUser: { id: 5, type: 'counter', description: 'Comsat datagrams naming a user no account can have', unit: 'datagrams', prometheus: dropped('unknown_user') },
  delivered: { id: 6, type: 'counter', description: 'Deliveries announced on the bus (mail.delivered)', unit: 'messages' },
  unwatched: { id: 7, type: 'counter', description: 'Notices for a user nobody subscribed to', unit: 'notices' },
  notified: { id: 8, type: 'counter', description: 'Notifications routed to subscribing services', unit: 'notifications', key: true },
  dropped: { id: 9, type: 'counter', description: "Notifications dropped (a subscriber's queue full, or the bus refusing)", unit: 'notifications', key: true },
  refused: { id: 10, type: 'counter', description: 'Subscriptions refused by a limit', unit: 'subscriptions' },
  badMessages: { id: 11, type: 'counter', description: 'Bus messages with an unusable payload', unit: 'messages' },
  subscriptions: { id: 12, type: 'gauge', description: '(service, instance, user) subscriptions held', unit: 'subscriptions' },
  queued: { id: 13, type: 'gauge', description: 'Notifications waiting in the per-subscriber queues', unit: 'notifications' },
  sources: { id: 14, type: 'gauge', description: 'Comsat source addresses whose rate buckets are remembered', unit: 'addresses' },
});
