/**
 * Every reply text the service writes itself, with its code and enhanced status code (RFC 3463).
 * smtp-server writes its own protocol replies; ours carry their enhanced code in the text, and
 * the session does not add a second one (see `server.ts`).
 */
import { disableReasonText } from '@hearth/accounts';

/** A reply as an Error: smtp-server answers a handler's error with `responseCode` and `message`. */
export class SmtpReply extends Error {
  override readonly name = 'SmtpReply';
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** An enhanced status code at the start of a reply text. */
export const ENHANCED_CODE = /^[245]\.\d{1,3}\.\d{1,3} /;

export const replies = {
  banner: 'Hearth',
  tooManyClients: () => new SmtpReply(421, '4.7.0 Too many connections, try again later'),
  tooManyFromIp: () => new SmtpReply(421, '4.7.0 Too many connections from your address, try again later'),
  tooManyErrors: { code: 421, text: '4.7.0 Too many errors, closing connection' },
  /** A draining instance's goodbye, said only to sessions still open at its goodbye time. */
  shuttingDown: { code: 421, text: '4.4.2 Server shutting down, try again later' },
  unknownUser: (address: string) => new SmtpReply(550, `5.1.1 <${address}>: no such user here`),
  /** MAIL FROM whose quoted local part is malformed (`quoted-local-part.ts` names the problem). */
  badSenderSyntax: (problem: string) => new SmtpReply(501, `5.1.7 Bad sender address syntax: ${problem}`),
  /** RCPT TO whose quoted local part is malformed. */
  badRecipientSyntax: (problem: string) => new SmtpReply(501, `5.1.3 Bad recipient address syntax: ${problem}`),
  relayDenied: (address: string) =>
    new SmtpReply(550, `5.7.1 <${address}>: relay access denied, this server takes mail for its own domains only`),
  relayNotConfigured: (address: string) =>
    new SmtpReply(550, `5.7.1 <${address}>: relaying is not configured, only local recipients are accepted`),
  authRequired: () => new SmtpReply(530, '5.7.0 Authentication required'),
  authFailed: () => new SmtpReply(535, '5.7.8 Authentication credentials invalid'),
  /**
   * The right password for a disabled account with a reason (as Postfix says Dovecot's nologin
   * reason); without one, `authFailed`. The administrator's reason in US-ASCII (accents dropped,
   * anything else as `?`): reply text is printable US-ASCII (RFC 5321 4.2), and SMTPUTF8 (RFC
   * 6531) is asked for by MAIL, after AUTH.
   */
  accountDisabled: (reason: string) => new SmtpReply(535, `5.7.8 This account is disabled: ${disableReasonText(reason, 'ascii')}`),
  tooManyAuthFailures: () => new SmtpReply(454, '4.7.0 Too many failed logins, try again later'),
  /** MAIL of a session whose user's password was set, or account disabled or deleted, since its AUTH. */
  credentialsChanged: () => new SmtpReply(421, '4.7.0 The password was changed, or the account disabled or removed, since AUTH, closing connection'),
  authUnavailable: () => new SmtpReply(454, '4.7.0 Temporary authentication failure, try again later'),
  accepted: (id: string) => `2.0.0 Ok: delivered as ${id}`,
  storeFailed: () => new SmtpReply(451, '4.3.0 Local error storing the message, try again later'),
  storeFull: () => new SmtpReply(452, '4.3.1 Insufficient system storage, try again later'),
  aborted: () => new SmtpReply(451, '4.3.0 Message not received in full'),
  /** smtp-server sends its own 552 for this (`rejectOversized`); the error marks the message refused. */
  tooLarge: (max: number) => new SmtpReply(552, `5.3.4 Message exceeds the size limit of ${max} bytes`),
  internal: () => new SmtpReply(451, '4.3.0 Local error in processing, try again later'),
} as const;
