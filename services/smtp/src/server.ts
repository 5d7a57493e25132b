/**
 * One smtp-server instance per listener, configured for its role: `mx` (mail for local users
 * from anyone, no AUTH) or `submission` (AUTH PLAIN/LOGIN required, and only over TLS). Policy
 * lives in `policy/`, DATA in `intake.ts`; this file turns their verdicts into smtp-server calls.
 */
import { localUser, type Authentication, type LoginPolicy } from '@hearth/accounts';
import type { Logger } from '@hearth/log';
import type { CounterSet } from '@hearth/metrics';
import type { ListenerSpec, MessageBus } from '@hearth/runtime';
import type { SMTPServerOptions, SMTPServerSession } from 'smtp-server';
import type { ListenerRole, SmtpSettings } from './config.js';
import type { counters } from './counters.js';
import { receiveMessage } from './intake.js';
import { authenticate } from './policy/auth.js';
import { admitAtAccept } from './policy/accept.js';
import type { ConnectionLimiter } from './policy/limits.js';
import { checkRecipient } from './policy/recipients.js';
import type { MailSink, TlsMaterial, UserDirectory } from './ports.js';
import { replies, SmtpReply } from './replies.js';
import { LogBudget } from './log-budget.js';
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
  /** The suite's failed-login policy: AUTH is reserved, delayed, refused or slowed by it. */
  readonly loginPolicy: LoginPolicy;
  readonly tls: TlsMaterial;
  readonly counters: CounterSet<typeof counters>;
}

/**
 * smtp-server logs its transcript-level events; ours are at info, so its info is our debug. Its
 * warnings are about one connection each: they share the listener's warning budget.
 */
function libraryLogger(log: Logger, warnings: LogBudget): NonNullable<SMTPServerOptions['logger']> {
  const at =
    (level: 'trace' | 'debug') =>
    (obj: unknown, msg?: string, ...args: unknown[]): void => {
      log[level](obj as object, msg, ...args);
    };
  const warn = (obj: unknown, msg?: string): void => warnings.warn({ ...(obj as object) }, msg ?? 'smtp-server warning');
  return { trace: at('trace'), debug: at('trace'), info: at('debug'), warn, error: warn, fatal: warn };
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

/** What one session did, for the line that ends it (as Postfix's "disconnect from ... rcpt=1/2 data=1"). */
interface Tally {
  messages: number;
  messagesRefused: number;
  recipientsRefused: number;
  /** AUTH with wrong credentials. */
  authFailures: number;
  /** AUTH refused without wrong credentials: past the failed-login limits, or a disabled account. */
  loginsRefused: number;
}

export function createSmtpServer(spec: ListenerSpec, role: ListenerRole, parts: ServerParts): HearthSmtpServer {
  /** Per session: its logger, whether it was admitted, its tally, and after AUTH the user's credential stamp of then. */
  const sessions = new Map<string, { log: Logger; readonly admitted: boolean; readonly tally: Tally; stamp?: string | undefined }>();
  const tallyOf = (session: SMTPServerSession): Tally | undefined => sessions.get(session.id)?.tally;
  const baseLog = parts.log.child({ listener: spec.name });
  const logOf = (session: SMTPServerSession): Logger => sessions.get(session.id)?.log ?? baseLog;
  const submission = role === 'submission';
  // Connection-level warnings (refusals, broken connections) are bounded per listener.
  const warnings = new LogBudget(baseLog);
  let accepts: ReturnType<typeof admitAtAccept> | undefined;

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
    logger: libraryLogger(baseLog, warnings),

    onConnect(session, callback) {
      // Counted (and released) at accept: see policy/accept.ts.
      const admission = accepts?.take(session.remoteAddress, session.remotePort) ?? 'ok';
      const log = baseLog.child({ cid: session.id, remote: session.remoteAddress });
      sessions.set(session.id, { log, admitted: admission === 'ok', tally: { messages: 0, messagesRefused: 0, recipientsRefused: 0, authFailures: 0, loginsRefused: 0 } });
      if (admission === 'ok') {
        log.debug('session opened');
        callback();
        return;
      }
      callback(admission === 'total' ? replies.tooManyClients() : replies.tooManyFromIp());
    },

    onClose(session) {
      const entry = sessions.get(session.id);
      if (!entry) return;
      sessions.delete(session.id);
      accepts?.done(session.remoteAddress, session.remotePort);
      // One line per session served (a refused one has its warning), whether it sent mail or not.
      if (entry.admitted) entry.log.info({ ...entry.tally }, 'disconnected');
    },

    onAuth(auth, session, callback) {
      const log = logOf(session);
      const login = auth.username ?? '';
      // Counted under the local user a login names (alice and alice@localhost are one user).
      const local = localUser(login, parts.domains);
      const counted = local ?? login;
      // Read before the check: a password set while it runs ends the session at its next MAIL.
      let stamp: string | undefined;
      // The right password for a disabled account is neither a failure nor a login for the policy
      // (`isLogin`); the policy answers it after the delay of a failure, and it is refused below.
      const check = async (): Promise<Exclude<Authentication, { kind: 'rejected' }> | undefined> => {
        stamp = local === undefined ? undefined : parts.users.credentialStamp(local);
        return authenticate(login, auth.password ?? '', parts.domains, parts.users);
      };
      // PLAIN and LOGIN send the password itself: a client retrying an old one is counted once.
      parts.loginPolicy.attempt(session.remoteAddress, counted, check, { password: auth.password ?? undefined, isLogin: (checked) => checked.kind === 'accepted' }).then(
        (result) => {
          if (!result.ok) {
            const refused = result.reason === 'refused';
            const counter = refused ? 'loginsRefused' : 'authFailures';
            parts.counters.inc(counter);
            const tally = tallyOf(session);
            if (tally) tally[counter]++;
            log.warn({ login, method: auth.method }, refused ? 'authentication refused: too many failures' : 'authentication failed');
            callback(refused ? replies.tooManyAuthFailures() : replies.authFailed());
            return;
          }
          if (result.value.kind === 'disabled') {
            const { user, reason } = result.value;
            parts.counters.inc('loginsRefused');
            const tally = tallyOf(session);
            if (tally) tally.loginsRefused++;
            log.warn({ login, user, method: auth.method }, 'login refused: account disabled');
            // After the delay of a wrong password (the policy's), its reply unless a reason was given.
            callback(reason === undefined ? replies.authFailed() : replies.accountDisabled(reason));
            return;
          }
          const { user } = result.value;
          const entry = sessions.get(session.id);
          if (entry) {
            entry.log = entry.log.child({ user });
            entry.stamp = stamp;
          }
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
      // The password set or the account deleted since this session's AUTH (by `hearth user`, the
      // admin page): no more mail from it; 421 closes the connection, a new AUTH decides.
      if (submission && typeof session.user === 'string') {
        let stamp: string | undefined;
        try {
          stamp = parts.users.credentialStamp(session.user);
        } catch (err) {
          callback(asReply(err, logOf(session)));
          return;
        }
        if (stamp !== sessions.get(session.id)?.stamp) {
          logOf(session).info('session ended: the password was changed, or the account disabled or removed');
          callback(replies.credentialsChanged());
          return;
        }
      }
      callback();
    },

    onRcptTo(address, session, callback) {
      const log = logOf(session);
      checkRecipient(address.address, { role, domains: parts.domains, users: parts.users, postmaster: parts.settings().postmaster }).then(
        (verdict) => {
          if (verdict.ok) {
            callback();
            return;
          }
          parts.counters.inc('recipientsRefused');
          const tally = tallyOf(session);
          if (tally) tally.recipientsRefused++;
          const from = session.envelope.mailFrom;
          log.info({ from: from ? from.address : '', rcpt: address.address, reply: verdict.reply.responseCode }, 'recipient refused');
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
          users: parts.users,
          postmaster: parts.settings().postmaster,
          maxMessageSize: parts.settings().maxMessageSize,
        },
        log,
      ).then(
        (text) => {
          parts.counters.inc('messagesReceived');
          parts.counters.inc('bytesIn', (stream as { byteLength?: number }).byteLength ?? 0);
          const tally = tallyOf(session);
          if (tally) tally.messages++;
          callback(null, text);
        },
        (err: unknown) => {
          parts.counters.inc('messagesRefused');
          const tally = tallyOf(session);
          if (tally) tally.messagesRefused++;
          callback(asReply(err, log));
        },
      );
    },
  };

  const server = new HearthSmtpServer(options, {
    greetingDelay: () => parts.settings().greetingDelay,
    maxBadCommands: () => parts.settings().maxBadCommands,
    onTooManyErrors: (connection) => warnings.warn({ cid: connection.id }, 'client dropped after too many errors'),
  });
  accepts = admitAtAccept(server.server, {
    limiter: parts.limiter,
    implicitTls: spec.tls,
    handshakeTimeout: () => parts.settings().tlsHandshakeTimeout,
    abort: (socket) => server.abortPending(socket),
    onAdmitted: () => {
      parts.counters.inc('connectionsTotal');
      parts.counters.add('connectionsOpen', 1);
    },
    onReleased: () => parts.counters.add('connectionsOpen', -1),
    onRefused: (ip, limit) => {
      parts.counters.inc('connectionsTotal');
      parts.counters.inc('connectionsRefused');
      warnings.warn({ remote: ip, limit }, 'connection refused: too many clients');
    },
  });
  server.on('error', (err: Error) => warnings.warn({ err }, 'SMTP connection error'));
  return server;
}
