/** The admin service's counters (shown on its own dashboard row, in `hearth status` and over SNMP). */
import { declareCounters } from '@hearth/metrics';

export const counters = declareCounters({
  requests: { id: 1, type: 'counter', description: 'HTTP requests answered', unit: 'requests', key: true },
  signIns: { id: 2, type: 'counter', description: 'Successful sign-ins (setup included)', unit: 'sign-ins', key: true },
  signInFailures: { id: 3, type: 'counter', description: 'Sign-ins refused for a wrong name or password', unit: 'attempts', key: true },
  csrfRefused: { id: 4, type: 'counter', description: 'Form posts refused for a missing or wrong CSRF token', unit: 'requests' },
  actions: { id: 5, type: 'counter', description: 'Changes made from the page (service actions, reloads, users, shares)', unit: 'actions' },
  sessions: { id: 6, type: 'gauge', description: 'Sessions open now (signed in or not)', unit: 'sessions' },
  liveStreams: { id: 7, type: 'gauge', description: 'Live update streams open now (dashboard and log tail)', unit: 'streams' },
  loginsRefused: { id: 8, type: 'counter', description: 'Sign-ins refused without wrong credentials: by the failed-login limits, or a disabled account', unit: 'attempts' },
});
