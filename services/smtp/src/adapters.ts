/** The ports of `ports.ts` over the real mail store and the suite's TLS material. */
import { loadTlsMaterial, TlsMaterialError } from '@hearth/tls';
import type { MailStore } from '@hearth/mail-store';
import { ServiceConfigError, type SuiteSettings } from '@hearth/runtime';
import type { MailSink, TlsMaterial, UserDirectory } from './ports.js';

export function storeSink(store: MailStore): MailSink {
  return {
    deliver: ({ recipients, prefix, body }) => store.deliver({ recipients, prefix, body }),
  };
}

export function storeUsers(store: MailStore): UserDirectory {
  return {
    has: async (user) => store.hasUser(user),
    verify: (user, password) => store.verifyPassword(user, password),
  };
}

/** The configured pair, or the suite's self-signed one (generated on first use) naming our domains. */
export async function suiteTls(suite: SuiteSettings): Promise<TlsMaterial> {
  try {
    return await loadTlsMaterial({
      dataDir: suite.dataDir,
      cert: suite.tls.cert,
      key: suite.tls.key,
      hostnames: suite.mail.domains,
    });
  } catch (err) {
    // A missing or unreadable configured file is a configuration problem: exit 78, no restart loop.
    if (err instanceof TlsMaterialError) throw new ServiceConfigError(err.message);
    throw err;
  }
}
