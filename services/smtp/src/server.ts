/**
 * One smtp-server instance per listener, configured for its role: `mx` (mail for local users
 * from anyone, no AUTH) or `submission` (AUTH PLAIN/LOGIN required, and only over TLS). Policy
 * lives in `policy/`, DATA in `intake.ts`; this file turns their verdicts into smtp-server calls.
 */
import type { Logger } from '@hearth/log';
import type { CounterSet } from '@hearth/metrics';
import type { ListenerSpec, MessageBus } from '@hearth/runtime';
import type { SMTPServerOptions, SMTPServerSession } from 'smtp-server';
import type { ListenerRole, SmtpSettings } from './config.js';
import type { counters } from './counters.js';
import { receiveMessage } from './intake.js';
import { authenticate } from './policy/auth.js';
import type { ConnectionLimiter } from './policy/limits.js';
import { checkRecipient } from './policy/recipients.js';
import type { MailSink, TlsMaterial, UserDirectory } from './ports.js';
import { replies, SmtpReply } from './replies.js';
import { HearthSmtpServer } from './session.js';

/** What every listener of the service shares. */
export interface ServerParts {
  settings(): SmtpSettings;
  readonly hostname: string;
  readonly domains: ReadonlySet<string>;
  readonly users: UserDirectory;
  readonly sink: MailSink;
  readonly bus: MessageBus;
  readonly log: Logger;
  readonly limiter: ConnectionLimiter;
  readonly tls: TlsMaterial;
  readonly counters: CounterSet<typeof counters>;
}

/** smtp-server logs its transcript-level events; ours are at info, so its info is our debug. */
function libraryLogger(log: Logger): NonNullable<SMTPServerOptions['logger']> {
  const at =
    (level: 'trace' | 'debug' | 'warn') =>
    (obj: unknown, msg?: string, ...args: unknown[]): void => {
      log[level](obj as object, msg, ...args);
    };
  return { trace: at('trace'), debug: at('trace'), info: at('debug'), warn: at('warn'), error: at('warn'), fatal: at('warn') };
}

/** Settings that smtp-server reads from its options on every connection (also applied on reload). */
export function limitOptions(settings: SmtpSettings): Partial<SMTPServerOptions> {
  return {
    size: settings.maxMessageSize,
    maxRecipients: settings.maxRecipients,
    maxCommandLength: settings.maxLineLength,
    socketTimeout: settings.idleTimeout,
    maxClients: settings.maxClients,
  };
}

/** A reply for whatever a handler threw: our replies as they are, anything else logged and 451. */
function asReply(err: unknown, log: Logger): SmtpReply {
  if (err instanceof SmtpReply) return err;
  log.error({ err }, 'unexpected error in an SMTP handler');
  return replies.internal();
}

export function createSmtpServer(spec: ListenerSpec, role: ListenerRole, parts: ServerParts): HearthSmtpServer {
  const sessions = new Map<string, { log: Logger; ip: string | undefined }>();
  const baseLog = parts.log.child({ listener: spec.name });
  const logOf = (session: SMTPServerSession): Logger => sessions.get(session.id)?.log ?? baseLog;
  const submission = role === 'submission';

  const options: SMTPServerOptions = {
    ...limitOptions(parts.settings()),
    name: parts.hostname,
    banner: replies.banner,
    secure: spec.tls,
    key: parts.tls.key,
    cert: parts.tls.cert,
    minVersion: 'TLSv1.2',
    rejectOversized: true,
    disableReverseLookup: true,
    hideENHANCEDSTATUSCODES: false,
    hideDSN: true,
    hideREQUIRETLS: true,
    allowInsecureAuth: false,
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: !submission,
    // sendmail's joke commands (WIZ, SHELL, KILL) are not ours; MX has no AUTH at all.
    disabledCommands: submission ? ['WIZ', 'SHELL', 'KILL'] : ['AUTH', 'WIZ', 'SHELL', 'KILL'],
    logger: libraryLogger(baseLog),

    onConnect(session, callback) {
      const admission = parts.limiter.admit(session.remoteAddress);
      parts.counters.inc('connectionsTotal');
      if (admission === 'ok') parts.counters.add('connectionsOpen', 1);
      else parts.counters.inc('connectionsRefused');
      const log = baseLog.child({ cid: session.id, remote: session.remoteAddress });
      sessions.set(session.id, { log, ip: admission === 'ok' ? session.remoteAddress : undefined });
      if (admission === 'ok') {
        log.debug('session opened');
        callback();
        return;
      }
      log.warn({ limit: admission }, 'connection refused: too many clients');
      callback(admission === 'total' ? replies.tooManyClients() : replies.tooManyFromIp());
    },

    onClose(session) {
      const entry = sessions.get(session.id);
      if (!entry) return;
      sessions.delete(session.id);
      if (entry.ip !== undefined) {
        parts.limiter.release(entry.ip);
        parts.counters.add('connectionsOpen', -1);
      }
      entry.log.debug('session closed');
    },

    onAuth(auth, session, callback) {
      const log = logOf(session);
      authenticate(auth.username ?? '', auth.password ?? '', parts.domains, parts.users).then(
        (user) => {
          if (user === undefined) {
            parts.counters.inc('authFailures');
            log.warn({ login: auth.username, method: auth.method }, 'authentication failed');
            callback(replies.authFailed());
            return;
          }
          const entry = sessions.get(session.id);
          if (entry) entry.log = entry.log.child({ user });
          parts.counters.inc('authSuccesses');
          log.info({ user, method: auth.method }, 'authenticated');
          callback(null, { user });
        },
        (err: unknown) => {
          log.error({ err }, 'user directory failed');
          callback(replies.authUnavailable());
        },
      );
    },

    onMailFrom(_address, session, callback) {
      // smtp-server already requires AUTH before MAIL on submission; policy says so again here.
      if (submission && !session.user) {
        callback(replies.authRequired());
        return;
      }
      callback();
    },

    onRcptTo(address, session, callback) {
      const log = logOf(session);
      checkRecipient(address.address, { role, domains: parts.domains, users: parts.users }).then(
        (verdict) => {
          if (verdict.ok) {
            callback();
            return;
          }
          parts.counters.inc('recipientsRefused');
          log.info({ rcpt: address.address, reply: verdict.reply.responseCode }, 'recipient refused');
          callback(verdict.reply);
        },
        (err: unknown) => callback(asReply(err, log)),
      );
    },

    onData(stream, session, callback) {
      const log = logOf(session);
      receiveMessage(
        stream,
        session,
        {
          sink: parts.sink,
          bus: parts.bus,
          hostname: parts.hostname,
          domains: parts.domains,
          maxMessageSize: parts.settings().maxMessageSize,
        },
        log,
      ).then(
        (text) => {
          parts.counters.inc('messagesReceived');
          parts.counters.inc('bytesIn', (stream as { byteLength?: number }).byteLength ?? 0);
          callback(null, text);
        },
        (err: unknown) => {
          parts.counters.inc('messagesRefused');
          callback(asReply(err, log));
        },
      );
    },
  };

  const server = new HearthSmtpServer(options, {
    greetingDelay: () => parts.settings().greetingDelay,
    maxBadCommands: () => parts.settings().maxBadCommands,
    onTooManyErrors: (connection) => baseLog.warn({ cid: connection.id }, 'client dropped after too many errors'),
  });
  server.on('error', (err: Error) => baseLog.warn({ err }, 'SMTP connection error'));
  return server;
}
