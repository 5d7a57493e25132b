/**
 * @hearth/smtp: SMTP intake (MX) and submission over smtp-server, delivering into the mail store.
 */
import { join } from 'node:path';
import { openSuiteAccounts } from '@hearth/accounts';
import { openMailStore } from '@hearth/mail-store';
import type { ServiceDefinition } from '@hearth/runtime';
import { storeSink, storeUsers, suiteTls } from './adapters.js';
import { loginLimits, manifest, type SmtpSettings } from './config.js';
import { startSmtp } from './service.js';

export { manifest, settingsSchema, loginLimits, type SmtpSettings, type ListenerRole } from './config.js';
export { counters } from './counters.js';
export { startSmtp, type RunningSmtp, type SmtpContext, type SmtpDeps } from './service.js';
export type { Delivery, MailSink, TlsMaterial, TlsSource, UserDirectory } from './ports.js';
export { storeSink, storeUsers, suiteTls } from './adapters.js';

/** The store's directory inside the suite's data dir. */
export function mailDir(dataDir: string): string {
  return join(dataDir, 'mail');
}

export const definition: ServiceDefinition<SmtpSettings> = {
  ...manifest,
  async start(ctx) {
    // The store first, so that on an old data dir the accounts move out of it at once.
    const store = await openMailStore({ dir: mailDir(ctx.suite.dataDir) });
    const accounts = await openSuiteAccounts(ctx.suite.dataDir).catch(async (err: unknown) => {
      await store.close();
      throw err;
    });
    try {
      const running = await startSmtp(ctx, {
        sink: storeSink(store),
        users: storeUsers(store, accounts),
        tls: (suite) => suiteTls(suite, ctx.log),
        loginPolicy: accounts.loginPolicy(loginLimits(ctx.settings)),
      });
      return {
        counters: running.counters,
        reload: (settings, suite) => running.reload(settings, suite),
        async stop(deadline) {
          await running.stop(deadline);
          await store.close();
          await accounts.close();
        },
      };
    } catch (err) {
      await store.close();
      await accounts.close();
      throw err;
    }
  },
};
