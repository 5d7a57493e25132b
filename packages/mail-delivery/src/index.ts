export { announceDelivered, type CommittedCopy } from './announce.js';
export {
  BIFF_SERVICE,
  MAIL_TOPICS,
  MAX_BATCH,
  batches,
  unbatch,
  type Batch,
  type BiffSubscription,
  type MailDelivered,
  type MailNotify,
} from './topics.js';
export { rfc5322Date, traceHeaders, type TraceInfo } from './trace.js';
