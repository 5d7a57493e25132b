/** The SMTP service's counters, declared once for every view (`hearth status`, SNMP). */
import { declareCounters } from '@hearth/metrics';

export const counters = declareCounters({
  connectionsTotal: { id: 1, type: 'counter', description: 'Connections accepted (refused ones included)', unit: 'connections' },
  connectionsOpen: { id: 2, type: 'gauge', description: 'Sessions open now', unit: 'connections', key: true },
  connectionsRefused: { id: 3, type: 'counter', description: 'Connections refused at connect (too many clients)', unit: 'connections' },
  authSuccesses: { id: 4, type: 'counter', description: 'Sessions authenticated (submission)', unit: 'sessions' },
  authFailures: { id: 5, type: 'counter', description: 'Wrong credentials', unit: 'attempts', key: true },
  messagesReceived: { id: 6, type: 'counter', description: 'Messages accepted (250 after the commit)', unit: 'messages', key: true },
  messagesRefused: { id: 7, type: 'counter', description: 'Messages refused or failed after DATA', unit: 'messages' },
  recipientsRefused: { id: 8, type: 'counter', description: 'Recipients refused (unknown user, relaying, policy)', unit: 'recipients' },
  bytesIn: { id: 9, type: 'counter', description: 'Message bytes received (DATA)', unit: 'bytes', prometheus: { name: 'received_bytes_total' } },
  loginsRefused: { id: 10, type: 'counter', description: 'Logins refused without wrong credentials: by the failed-login limits, or a disabled account', unit: 'attempts' },
});
