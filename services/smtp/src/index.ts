/**
 * @hearth/smtp: SMTP intake (MX) and submission over smtp-server, delivering into the mail store.
 */
export { manifest, settingsSchema, type SmtpSettings, type ListenerRole } from './config.js';
export { startSmtp, type RunningSmtp, type SmtpContext, type SmtpDeps } from './service.js';
export { MAIL_DELIVERED, type MailDelivered } from './intake.js';
export type { Delivery, MailSink, StoredCopy, TlsMaterial, TlsSource, UserDirectory } from './ports.js';
export { traceHeaders, rfc5322Date, type TraceInfo } from './headers.js';
