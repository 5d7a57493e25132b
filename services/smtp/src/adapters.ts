/** The ports of `ports.ts` over the real mail store, the accounts and the suite's TLS material. */
import type { Accounts } from '@hearth/accounts';
import { loadTlsMaterial, suiteTlsOptions, TlsMaterialError, type TlsLog } from '@hearth/tls';
import type { MailStore } from '@hearth/mail-store';
import { ServiceConfigError, type SuiteSettings } from '@hearth/runtime';
import type { MailSink, TlsMaterial, UserDirectory } from './ports.js';

export function storeSink(store: MailStore): MailSink {
  return {
    deliver: ({ recipients, prefix, body }) => store.deliver({ recipients, prefix, body }),
  };
}

/** Local recipients are the users with a maildrop; AUTH checks passwords against the accounts. */
export function storeUsers(store: MailStore, accounts: Accounts): UserDirectory {
  return {
    has: async (user) => store.hasMaildrop(user),
    authenticate: (user, password) => accounts.authenticate(user, password),
    credentialStamp: (user) => accounts.credentialStamp(user),
    firstAdmin: async () =>
      accounts
        .list()
        .filter((a) => a.admin && store.hasMaildrop(a.name))
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())[0]?.name,
  };
}

/**
 * The configured pair, or the suite's self-signed one (generated on first use), naming the hosts
 * every service names (`suiteNames` of @hearth/tls); its generation logged to `log`.
 */
export async function suiteTls(suite: SuiteSettings, log?: TlsLog): Promise<TlsMaterial> {
  try {
    return await loadTlsMaterial(suiteTlsOptions(suite, log));
  } catch (err) {
    // A missing or unreadable configured file is a configuration problem: exit 78, no restart loop.
    if (err instanceof TlsMaterialError) throw new ServiceConfigError(err.message);
    throw err;
  }
}
