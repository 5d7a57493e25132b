/**
 * The admin service under the runtime: the suite's TLS material, the accounts and the mail store,
 * the control socket, the setup token, one HTTPS server per declared listener. A reload swaps the
 * certificate and applies the new settings (session idle time, sign-in limits) in place.
 */
import type { Server } from 'node:https';
import { mailDomainSet, openSuiteAccounts } from '@hearth/accounts';
import { loginLimits } from '@hearth/accounts';
import { openMailStore } from '@hearth/mail-store';
import { CounterSet, refreshedCounters } from '@hearth/metrics';
import { ServiceConfigError, type RunningService, type ServiceContext } from '@hearth/runtime';
import { certificateNames, certificateNamesHost, createTlsContextProvider, suiteTlsOptions, TlsMaterialError, type TlsContextProvider } from '@hearth/tls';
import { join } from 'node:path';
import type { AdminSettings } from './config.js';
import { busActivity } from './activity.js';
import type { AppDeps } from './context.js';
import { controlSocket, type SupervisorPort } from './control.js';
import { counters } from './counters.js';
import { metricsToken } from './metrics-token.js';
import { routeTable, type Route } from './routes.js';
import { createAdminServer } from './server.js';
import { Sessions } from './sessions.js';
import { setupLink } from './setup-link.js';
import { SetupToken } from './setup.js';

export interface AdminOptions {
  /** The supervisor (default: the control socket in the data dir). */
  readonly supervisor?: SupervisorPort;
  /** The routes (default: `routeTable()`). */
  readonly routes?: readonly Route[];
}


export async function startAdminService(ctx: ServiceContext<AdminSettings>, options: AdminOptions = {}): Promise<RunningService<AdminSettings>> {
  // Every service names the same hosts in a generated certificate (`suiteNames` of @hearth/tls).
  const tlsOptions = (suite: typeof ctx.suite) => suiteTlsOptions(suite, ctx.log);
  let tls: TlsContextProvider;
  try {
    tls = await createTlsContextProvider(tlsOptions(ctx.suite));
  } catch (error) {
    if (error instanceof TlsMaterialError) throw new ServiceConfigError(error.message, { cause: error });
    throw error;
  }
  const dataDir = ctx.suite.dataDir;
  let settings = ctx.settings;
  let mailDomains = mailDomainSet(ctx.suite.mail.domains);
  const store = await openMailStore({ dir: join(dataDir, 'mail'), create: true });
  const accounts = await openSuiteAccounts(dataDir).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  let sessions: Sessions;
  try {
    sessions = new Sessions(join(dataDir, 'admin', 'sessions.db'), settings.sessionIdle, settings.maxSessions);
  } catch (error) {
    await accounts.close();
    await store.close();
    throw error;
  }
  const stats = new CounterSet(counters);
  // The sessions gauge is the live rows of the file both instances of a restart share, counted
  // when the counters are read (and so falling as sessions expire, with no request). A stopping
  // instance counts none: its sessions stay in the file, for the next instance to count (the
  // supervisor adds up the instances' gauges), and the file is closed before the last report.
  let counting = true;
  const reported = refreshedCounters(stats, () => stats.set('sessions', counting ? sessions.size : 0));
  const first = [...ctx.listeners.values()][0];
  const announce = (token: string): void => {
    if (first) ctx.log.warn({ url: setupLink(first.spec, token) }, 'no administrator can sign in: open this one-time link to create one');
  };
  const deps: AppDeps = {
    serviceName: ctx.name,
    dataDir,
    log: ctx.log,
    settings: () => settings,
    supervisor: options.supervisor ?? controlSocket(dataDir),
    activity: busActivity(ctx.bus),
    accounts,
    store,
    sessions,
    login: accounts.loginPolicy(loginLimits(settings)),
    mailDomains: () => mailDomains,
    setup: await SetupToken.start(dataDir, accounts, announce),
    stats,
    metricsToken: metricsToken(dataDir),
    certificate: () => ({ kind: tls.material.source === 'configured' ? 'configured' : 'self-signed', file: tls.material.certFile }),
    certificateHost: (host) => {
      const names = certificateNames(tls.material.cert);
      return { named: certificateNamesHost(tls.material.cert, host), names: [...names.dns, ...names.ips] };
    },
  };
  const admin = createAdminServer(deps, options.routes ?? routeTable());
  const servers: Server[] = [];
  const close = async (deadline: number): Promise<void> => {
    counting = false;
    await admin.stop(deadline);
    sessions.close();
    await accounts.close();
    await store.close();
  };
  try {
    for (const listener of ctx.listeners.values()) {
      if (!listener.spec.tls) throw new ServiceConfigError(`listener ${listener.spec.name}: the admin page is served over HTTPS only (set tls: true)`);
      const server = admin.httpsServer({ ...tls.serverOptions, SNICallback: tls.sniCallback });
      await listener.listen(server);
      servers.push(server);
      ctx.log.info({ listener: listener.spec.name, address: listener.spec.address, port: listener.spec.port }, 'listening');
    }
  } catch (error) {
    await close(Date.now());
    throw error;
  }
  const setup = deps.setup.state;
  if (setup.kind === 'open') announce(setup.token);
  return {
    counters: reported,
    async reload(next, suite) {
      // The listeners' SNI callback is the provider's: it hands out the new context from here on.
      await tls.reload(tlsOptions(suite));
      for (const server of servers) server.setSecureContext(tls.serverOptions);
      settings = next;
      mailDomains = mailDomainSet(suite.mail.domains);
      deps.sessions.update(next.sessionIdle, next.maxSessions);
      deps.login.setLimits(loginLimits(next));
    },
    stop: close,
  };
}
