/** The POP3 service's counters, declared once for every view (`hearth status`, SNMP). */
import { declareCounters } from '@hearth/metrics';

export const counters = declareCounters({
  connectionsTotal: { id: 1, type: 'counter', description: 'Connections accepted (refused ones included)', unit: 'connections' },
  connectionsOpen: { id: 2, type: 'gauge', description: 'Connections open now', unit: 'connections', key: true },
  connectionsRefused: { id: 3, type: 'counter', description: 'Connections refused at connect (too many, or shutting down)', unit: 'connections' },
  authSuccesses: { id: 4, type: 'counter', description: 'Sessions authenticated (USER/PASS, APOP, AUTH)', unit: 'sessions', key: true },
  authFailures: { id: 5, type: 'counter', description: 'Wrong credentials', unit: 'attempts', key: true },
  loginsRefused: { id: 6, type: 'counter', description: 'Logins refused without wrong credentials: by a limit (failures, sessions per user, maildrop in use), or a disabled account', unit: 'attempts' },
  messagesRetrieved: { id: 7, type: 'counter', description: 'Messages sent whole (RETR)', unit: 'messages', key: true },
  messagesDeleted: { id: 8, type: 'counter', description: 'Messages deleted (DELE, then QUIT; once when several sessions deleted one)', unit: 'messages' },
  bytesOut: { id: 9, type: 'counter', description: 'Message bytes sent by RETR (as stored)', unit: 'bytes', prometheus: { name: 'sent_bytes_total' } },
  messagesSent: { id: 10, type: 'counter', description: 'Messages sent with XSEND (stored for every recipient)', unit: 'messages' },
  pushWaiting: { id: 11, type: 'gauge', description: 'Sessions waiting for new mail in XIDLE now', unit: 'sessions', key: true },
  messagesPushed: { id: 12, type: 'counter', description: 'New messages announced to XIDLE sessions (one push line each)', unit: 'messages' },
});
