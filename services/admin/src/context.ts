/** What every route gets: the service's parts (`AppDeps`) and the request (`RequestContext`). */
import type { IncomingMessage } from 'node:http';
import type { Account, Accounts, LoginPolicy } from '@hearth/accounts';
import type { ConnectHelpInput } from '@hearth/files/connect-help';
import type { Logger } from '@hearth/log';
import type { MailStore } from '@hearth/mail-store';
import type { CounterSet } from '@hearth/metrics';
import type { ActivityPort } from './activity.js';
import type { AdminSettings } from './config.js';
import type { SupervisorPort } from './control.js';
import type { counters } from './counters.js';
import type { Session, Sessions } from './sessions.js';
import type { SetupToken } from './setup.js';

export interface AppDeps {
  /** This service's name in the config (its own row cannot be stopped from the page). */
  readonly serviceName: string;
  readonly dataDir: string;
  readonly log: Logger;
  readonly settings: () => AdminSettings;
  readonly supervisor: SupervisorPort;
  /** Requests in progress per share of a file service (by name). */
  readonly activity: ActivityPort;
  readonly accounts: Accounts;
  readonly store: MailStore;
  readonly sessions: Sessions;
  readonly login: LoginPolicy;
  /** The suite's mail domains, lower case (a reload may change them): `alice@` one of them signs in as `alice`. */
  readonly mailDomains: () => ReadonlySet<string>;
  readonly setup: SetupToken;
  readonly stats: CounterSet<typeof counters>;
  /** The bearer token of `/metrics` (DATA/admin/metrics-token, generated at first start). */
  readonly metricsToken: string;
  /** The suite's certificate as the HTTPS listeners present it now (a reload may change it). */
  readonly certificate: () => ConnectHelpInput['certificate'];
  /** Whether that certificate names `host`, and what it names (for the warning of `connectHelp`). */
  readonly certificateHost: (host: string) => ConnectHelpInput['hostCheck'];
}

/** Who is asking: nobody yet, or an account (re-read at every request). */
export type Principal = { readonly kind: 'anonymous' } | { readonly kind: 'user'; readonly account: Account };

export interface RequestContext {
  readonly deps: AppDeps;
  readonly req: IncomingMessage;
  readonly url: URL;
  /** The client's address (the login policy's source). */
  readonly remote: string;
  readonly session: Session;
  readonly principal: Principal;
  /** A POST's form fields (its CSRF token already checked); empty for a GET. */
  readonly form: URLSearchParams;
  /** Replaces the session (sign-in, sign-out): the response sets the new cookie. */
  switchSession(next: Session): void;
}
