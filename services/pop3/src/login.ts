/**
 * The policy of AUTHORIZATION -> TRANSACTION, apart from the session that applies it: the name
 * the client gave taken as SMTP AUTH takes it (`alice` or `alice@` a mail domain); the suite's
 * login policy (@hearth/accounts' `LoginPolicy`: failures reserved before the check, refusals past
 * the limits, a repeated wrong password counted once, every failure and refusal answered after
 * `loginFailureDelay`); the right password for a disabled account refused after the same delay,
 * as a wrong one, unless the administrator gave a reason, which is told then (as Dovecot's
 * `nologin` with a `reason`); a user at
 * `maxConnectionsPerUser` is refused; then the maildrop's snapshot, with its exclusive lock under
 * `exclusiveLock` (`-ERR [IN-USE]` when another session holds it). The session turns an `ok`
 * outcome into its TRANSACTION state, and asks `credentialsChanged` whether the login still holds.
 */
import { localUser, type Authentication, type LoginPolicy } from '@hearth/accounts';
export { loginLimits } from '@hearth/accounts';
import type { Logger } from '@hearth/log';
import type { CounterSet } from '@hearth/metrics';
import type { LoginAttempt } from './commands/context.js';
import type { Pop3Settings } from './config.js';
import type { counters } from './counters.js';
import type { Counter } from './limits.js';
import type { MailBacking, Maildrop } from './maildrop.js';
import { replies, type Reply } from './replies.js';
import type { Transaction } from './state.js';

export interface LoginDeps {
  readonly settings: Pop3Settings;
  readonly counters: CounterSet<typeof counters>;
  readonly backing: MailBacking;
  readonly userSessions: Counter;
  readonly loginPolicy: LoginPolicy;
  /** The suite's mail domains, lower case: `alice@` one of them logs in as `alice`. */
  readonly localDomains: ReadonlySet<string>;
}

export interface LoginContext {
  /** The client's address (failure limits). */
  readonly ip: string;
  readonly log: Logger;
  /** The session closed meanwhile: nothing may be kept. */
  readonly closing: () => boolean;
  /** Waits `ms` without blocking other sessions (returns early when the session closes). */
  readonly delay: (ms: number) => Promise<void>;
}

export type LoginOutcome =
  | { readonly ok: true; readonly user: string; readonly stamp: string | undefined; readonly maildrop: Maildrop }
  | { readonly ok: false; readonly reply: Reply };

const refuse = (reply: Reply): LoginOutcome => ({ ok: false, reply });

export async function authorize(deps: LoginDeps, attempt: LoginAttempt, ctx: LoginContext): Promise<LoginOutcome> {
  const { settings, userSessions } = deps;
  // The name as SMTP AUTH takes it (one user name in a mail client for both); counted under the
  // local user, so that `alice` and `alice@domain` share their failures.
  const local = localUser(attempt.user, deps.localDomains);
  // Read before the check: a password set while it runs ends the session at its first command.
  const stamp = local === undefined ? undefined : deps.backing.credentialStamp(local);
  // The right password for a disabled account is no failure for the policy (no guess: an
  // account's phone polling every minute does not get its network's address refused) and no
  // login either (`isLogin`: the address's failures are not reset).
  const check = async (): Promise<Exclude<Authentication, { kind: 'rejected' }> | undefined> => {
    if (local === undefined) return undefined;
    const checked = await attempt.verify(local);
    return checked.kind === 'rejected' ? undefined : checked;
  };
  const result = await deps.loginPolicy.attempt(ctx.ip, local ?? attempt.user, check, { wait: ctx.delay, password: attempt.password, isLogin: (checked) => checked.kind === 'accepted' });
  if (!result.ok) {
    if (result.reason === 'refused') {
      deps.counters.inc('loginsRefused');
      ctx.log.warn({ user: attempt.user, mechanism: attempt.mechanism }, 'login refused: too many failures');
      return refuse(replies.tooManyFailures());
    }
    deps.counters.inc('authFailures');
    ctx.log.warn({ user: attempt.user, mechanism: attempt.mechanism }, 'login failed');
    return refuse(replies.authFailed());
  }
  if (result.value.kind === 'disabled') {
    const { user, reason } = result.value;
    deps.counters.inc('loginsRefused');
    ctx.log.warn({ user, mechanism: attempt.mechanism }, 'login refused: account disabled');
    // The policy answered it after the delay of a wrong password: the same reply, without a reason.
    return refuse(reason === undefined ? replies.authFailed() : replies.accountDisabled(reason));
  }
  const canonical = result.value.user;
  if (ctx.closing()) return refuse(replies.authFailed());
  if (userSessions.get(canonical) >= settings.maxConnectionsPerUser) {
    deps.counters.inc('loginsRefused');
    ctx.log.warn({ user: canonical }, 'login refused: too many sessions for this user');
    return refuse(replies.tooManyUserSessions());
  }
  const opened = await deps.backing.openMaildrop(canonical, { exclusive: settings.exclusiveLock });
  if (!opened.ok) {
    deps.counters.inc('loginsRefused');
    ctx.log.info({ user: canonical }, 'login refused: maildrop in use');
    return refuse(replies.inUse());
  }
  if (ctx.closing()) {
    await opened.maildrop.release();
    return refuse(replies.authFailed());
  }
  return { ok: true, user: canonical, stamp, maildrop: opened.maildrop };
}

/**
 * Whether the password was set or the account disabled or deleted since this login (by `hearth
 * user`, the admin page, another process); if so, logged: the session ends, deleting nothing,
 * as a new login would fail. Throws when the stamp cannot be read.
 */
export function credentialsChanged(backing: MailBacking, tx: Transaction, log: Logger): boolean {
  if (backing.credentialStamp(tx.user) === tx.stamp) return false;
  log.info('session ended: the password was changed, or the account disabled or removed');
  return true;
}
