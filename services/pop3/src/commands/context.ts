/** What a command handler may see and ask of its session. Handlers return replies; they never write. */
import type { Authentication } from '@hearth/accounts';
import type { CounterSet } from '@hearth/metrics';
import type { Pop3Settings } from '../config.js';
import type { counters } from '../counters.js';
import type { MailBacking } from '../maildrop.js';
import type { Reply } from '../replies.js';
import type { SessionState, Transaction } from '../state.js';

export interface LoginAttempt {
  /** The name the client gave: `alice` or `alice@` one of the mail domains (`localUser`). */
  readonly user: string;
  readonly mechanism: 'USER' | 'APOP' | 'PLAIN' | 'LOGIN';
  /**
   * Check the credentials of the local user the name means: `accepted` with the canonical user
   * name, `disabled` when they are right for a disabled account, `rejected` when wrong.
   */
  readonly verify: (user: string) => Promise<Authentication>;
  /** The password `verify` tries (USER/PASS, PLAIN, LOGIN; not APOP): a repeated wrong one is counted once. */
  readonly password?: string;
}

export interface CommandContext {
  readonly state: SessionState;
  readonly settings: Pop3Settings;
  readonly backing: MailBacking;
  /** The server's counters (RETR counts what it sends). */
  readonly counters: CounterSet<typeof counters>;
  /** The connection is TLS (STLS done or implicit-TLS port). */
  readonly secure: boolean;
  /** STLS can be offered: not yet TLS and a certificate is available. */
  readonly canStartTls: boolean;
  /** USER/PASS and AUTH PLAIN/LOGIN are allowed on this connection (TLS, loopback, or config). */
  readonly plaintextAllowed: boolean;
  /** The greeting's `<...@host>` (APOP). */
  readonly timestamp: string;
  /** Remember (or forget) the name given by USER. */
  setPendingUser(user: string | undefined): void;
  /** The whole login: limits, delay on failure, lock, and the move to TRANSACTION. */
  login(attempt: LoginAttempt): Promise<Reply>;
  /** QUIT: in TRANSACTION, the move to UPDATE (deletions), then close. */
  quit(): Promise<Reply>;
  /** The local mail domains, lower case (XSEND recipients). */
  readonly localDomains: ReadonlySet<string>;
  /** XSEND: store the message read from `body` for `recipients` and announce it. */
  submit(recipients: readonly string[], body: AsyncIterable<Uint8Array>): Promise<Reply>;
}

/** The TRANSACTION state; the command table guarantees handlers that use it run only there. */
export function transaction(ctx: CommandContext): Transaction {
  if (ctx.state.name !== 'TRANSACTION') throw new Error(`expected TRANSACTION, in ${ctx.state.name}`);
  return ctx.state;
}
