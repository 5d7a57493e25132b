/**
 * The file service under the runtime: the suite's TLS material, one HTTP or HTTPS server per
 * declared listener (`tls: true` means HTTPS), shares in the instance's handler table, and a
 * draining stop. Users come from the `FileUsers` passed in.
 */
import type { Server } from 'node:http';
import { HandlerTable, ServiceConfigError, type RunningService, type ServiceContext } from '@hearth/runtime';
import { createTlsContextProvider, suiteTlsOptions, TlsMaterialError, type TlsContextProvider } from '@hearth/tls';
import type { FilesSettings } from './config.js';
import { ACTIVITY, ACTIVITY_ASK, shareActivity } from './activity.js';
import { createFilesServer } from './server.js';
import type { FileUsers } from './users.js';
import type { LoginPolicy } from '@hearth/accounts';

export async function startFilesService(
  ctx: ServiceContext<FilesSettings>,
  users: FileUsers,
  loginPolicy?: LoginPolicy,
): Promise<RunningService<FilesSettings>> {
  // Every service names the same hosts in a generated certificate (`suiteNames` of @hearth/tls).
  const tlsOptions = (suite: typeof ctx.suite) => suiteTlsOptions(suite, ctx.log);
  let tls: TlsContextProvider | undefined;
  const needsTls = [...ctx.listeners.values()].some((l) => l.spec.tls);
  if (needsTls) {
    try {
      tls = await createTlsContextProvider(tlsOptions(ctx.suite));
    } catch (error) {
      if (error instanceof TlsMaterialError) throw new ServiceConfigError(error.message, { cause: error });
      throw error;
    }
  }
  const handlers = ctx.handlers ?? new HandlerTable<unknown>();
  const files = createFilesServer({
    settings: ctx.settings,
    users,
    handlers,
    dataDir: ctx.suite.dataDir,
    log: ctx.log,
    mailDomains: ctx.suite.mail.domains,
    ...(loginPolicy ? { loginPolicy } : {}),
  });
  ctx.bus.on(ACTIVITY_ASK, (_payload, from) => void ctx.bus.send(from, ACTIVITY, shareActivity(handlers)));
  const servers: Array<{ server: Server; secure: boolean }> = [];
  try {
    for (const listener of ctx.listeners.values()) {
      const secure = listener.spec.tls;
      const server = secure && tls ? files.httpsServer({ ...tls.serverOptions, SNICallback: tls.sniCallback }) : files.httpServer();
      await listener.listen(server);
      servers.push({ server, secure });
      ctx.log.info({ listener: listener.spec.name, address: listener.spec.address, port: listener.spec.port, tls: secure }, 'listening');
    }
  } catch (error) {
    await files.stop(Date.now());
    throw error;
  }
  return {
    counters: files.counters,
    async reload(settings, suite) {
      if (tls) {
        // The listeners' SNI callback is the provider's: it hands out the new context from here on.
        await tls.reload(tlsOptions(suite));
        for (const { server, secure } of servers) if (secure) (server as import('node:https').Server).setSecureContext(tls.serverOptions);
      }
      files.updateSettings(settings);
      files.updateMailDomains(suite.mail.domains);
    },
    async stop(deadline) {
      await files.stop(deadline);
    },
  };
}
