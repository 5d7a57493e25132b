/**
 * The SMTP service with its collaborators passed in: one server per listener, a connection
 * limiter shared by all of them, reload of TLS material and limits, and a draining stop.
 */
import { hostname as osHostname } from 'node:os';
import { LoginPolicy, mailDomainSet } from '@hearth/accounts';
import type { Logger } from '@hearth/log';
import { CounterSet } from '@hearth/metrics';
import type { MessageBus, RunningService, ServiceListener, SuiteSettings } from '@hearth/runtime';
import { ServiceConfigError } from '@hearth/runtime';
import { loginLimits, roleOf, type SmtpSettings } from './config.js';
import { counters } from './counters.js';
import { ConnectionLimiter } from './policy/limits.js';
import type { MailSink, TlsSource, UserDirectory } from './ports.js';
import { createSmtpServer, limitOptions, type ServerParts } from './server.js';
import type { HearthSmtpServer } from './session.js';

export interface SmtpContext {
  readonly settings: Readonly<SmtpSettings>;
  readonly suite: SuiteSettings;
  readonly log: Logger;
  readonly listeners: ReadonlyMap<string, ServiceListener>;
  readonly bus: MessageBus;
}

export interface SmtpDeps {
  readonly sink: MailSink;
  readonly users: UserDirectory;
  readonly tls: TlsSource;
  /**
   * The failed-login policy for AUTH (the service passes the accounts' persistent one); its
   * limits are set from the settings. Default: one whose counts live in this process's memory.
   */
  readonly loginPolicy?: LoginPolicy;
}

export interface RunningSmtp extends RunningService<SmtpSettings> {
  /** The smtp-server instance of each listener, by listener name. */
  readonly servers: ReadonlyMap<string, HearthSmtpServer>;
  /** The failed-login policy in use (its `stats()` counts refusals and delays). */
  readonly loginPolicy: LoginPolicy;
  /** The service's counters (`src/counters.ts`). */
  readonly counters: CounterSet<typeof counters>;
  /** Re-read the TLS material (swapping the secure context in place) and apply new limits. */
  reload(settings: Readonly<SmtpSettings>, suite: SuiteSettings): Promise<void>;
}

function domainsOf(suite: SuiteSettings): ReadonlySet<string> {
  return mailDomainSet(suite.mail.domains);
}

export async function startSmtp(ctx: SmtpContext, deps: SmtpDeps): Promise<RunningSmtp> {
  let settings = ctx.settings;
  for (const name of ctx.listeners.keys()) {
    if (roleOf(settings, name) === undefined) {
      throw new ServiceConfigError(
        `listener "${name}" has no role: name it in settings.roles as mx or submission (known: mx, submission, smtps)`,
      );
    }
  }
  const limiter = new ConnectionLimiter(settings.maxClients, settings.maxClientsPerIp);
  const loginPolicy = deps.loginPolicy ?? new LoginPolicy(loginLimits(settings));
  loginPolicy.setLimits(loginLimits(settings));
  const tls = await deps.tls(ctx.suite);
  let domains = domainsOf(ctx.suite);
  const live = new CounterSet(counters);
  const parts: ServerParts = {
    settings: () => settings,
    hostname: settings.hostname ?? osHostname(),
    get domains() {
      return domains;
    },
    users: deps.users,
    sink: deps.sink,
    bus: ctx.bus,
    log: ctx.log,
    limiter,
    loginPolicy,
    tls,
    counters: live,
  };

  const servers = new Map<string, HearthSmtpServer>();
  for (const [name, listener] of ctx.listeners) {
    const role = roleOf(settings, name) ?? 'mx';
    const server = createSmtpServer(listener.spec, role, parts);
    servers.set(name, server);
    await listener.listen(server.server);
    ctx.log.info({ listener: name, role, port: listener.spec.port, tls: listener.spec.tls }, 'listening');
  }

  return {
    servers,
    loginPolicy,
    counters: live,
    async reload(next, suite) {
      const material = await deps.tls(suite);
      for (const server of servers.values()) {
        Object.assign(server.options, limitOptions(next));
        server.updateSecureContext({ key: material.key, cert: material.cert });
      }
      limiter.setLimits(next.maxClients, next.maxClientsPerIp);
      loginPolicy.setLimits(loginLimits(next));
      settings = next;
      domains = domainsOf(suite);
      ctx.log.info('settings and TLS material reloaded');
    },
    async stop(deadline) {
      await Promise.all([...servers.values()].map((server) => server.drain(deadline)));
    },
  };
}
