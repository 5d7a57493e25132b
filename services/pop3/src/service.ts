/**
 * The POP3 service under the runtime: the real store at DATA/mail, the accounts at DATA/accounts, the suite's TLS material, one
 * net.Server per declared listener (`pop3`, `pop3s`, or any others; `tls: true` means implicit TLS).
 */
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { openSuiteAccounts } from '@hearth/accounts';
import { openMailStore } from '@hearth/mail-store';
import { ServiceConfigError, type RunningService, type ServiceContext } from '@hearth/runtime';
import { createTlsContextProvider, suiteTlsOptions, TlsMaterialError, type TlsContextProvider } from '@hearth/tls';
import type { Pop3Settings } from './config.js';
import { loginLimits } from './login.js';
import { createPop3Server } from './server.js';
import { storeBacking } from './store-backing.js';

export async function startPop3Service(ctx: ServiceContext<Pop3Settings>): Promise<RunningService<Pop3Settings>> {
  // The store first: on a data dir made before accounts had their own file, its migration sets
  // the credentials aside, and the accounts take them over (and clear them) at once.
  const store = await openMailStore({ dir: join(ctx.suite.dataDir, 'mail') });
  const accounts = await openSuiteAccounts(ctx.suite.dataDir).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  const servers: Server[] = [];
  try {
    // Every service names the same hosts in a generated certificate (`suiteNames` of @hearth/tls).
    const tlsOptions = (suite: typeof ctx.suite) => suiteTlsOptions(suite, ctx.log);
    let tls: TlsContextProvider;
    try {
      tls = await createTlsContextProvider(tlsOptions(ctx.suite));
    } catch (error) {
      if (error instanceof TlsMaterialError) throw new ServiceConfigError(error.message, { cause: error });
      throw error;
    }
    const pop3 = createPop3Server({
      backing: storeBacking(store, accounts),
      loginPolicy: accounts.loginPolicy(loginLimits(ctx.settings)),
      tls: () => tls.context,
      settings: ctx.settings,
      log: ctx.log,
      bus: ctx.bus,
      domains: ctx.suite.mail.domains,
    });
    for (const listener of ctx.listeners.values()) {
      const implicitTls = listener.spec.tls;
      const server = createServer((socket) => pop3.handle(socket, { implicitTls }));
      server.on('error', (error) => ctx.log.error({ err: error, listener: listener.spec.name }, 'listener failed'));
      await listener.listen(server);
      servers.push(server);
      ctx.log.info({ listener: listener.spec.name, address: listener.spec.address, port: listener.spec.port, tls: implicitTls }, 'listening');
    }
    return {
      counters: pop3.counters,
      async reload(settings, suite) {
        // First what can fail (the files): a refused reload leaves everything as it was.
        await tls.reload(tlsOptions(suite));
        pop3.updateSettings(settings);
      },
      async stop(deadline) {
        for (const server of servers) server.close();
        await pop3.stop(deadline);
        await store.close();
        await accounts.close();
      },
    };
  } catch (error) {
    for (const server of servers) server.close();
    await store.close();
    await accounts.close();
    throw error;
  }
}
