export { QUOTING_PROBLEMS, quoteLocalPart, readQuotedString, unquotedAddress, type QuotedString } from './address.js';
export { announceDelivered } from './announce.js';
export {
  MAX_BATCH,
  batches,
  hearthUser,
  newMailOf,
  readNotices,
  type Batch,
  type ComsatNotice,
  type HearthNotice,
  type NewMail,
  type ReadNotices,
} from './notice.js';
export { completeHeaders, MAX_COMPLETION_BYTES, MAX_HEADER_BYTES, type Completion } from './complete.js';
export { BIFF_SERVICE, MAIL_TOPICS, subscriptionOf, type BiffSubscription } from './topics.js';
export { rfc5322Date, traceHeaders, type TraceInfo } from './trace.js';
