/**
 * The policy of AUTHORIZATION -> TRANSACTION, apart from the session that applies it: too many
 * recent failures (per address, per user: @hearth/accounts' LoginThrottle) refuse before the
 * credentials are checked; a failed check is counted; a user at `maxConnectionsPerUser` is refused;
 * then the maildrop's snapshot, with its exclusive lock under `exclusiveLock` (`-ERR [IN-USE]` when
 * another session holds it). Refusals after a failure are answered only
 * after `loginFailureDelay`. The session turns an `ok` outcome into its TRANSACTION state.
 */
import { LoginThrottle } from '@hearth/accounts';
import type { Logger } from '@hearth/log';
import type { CounterSet } from '@hearth/metrics';
import type { LoginAttempt } from './commands/context.js';
import type { Pop3Settings } from './config.js';
import type { counters } from './counters.js';
import type { Counter, FailureLimiter } from './limits.js';
import type { MailBacking, Maildrop } from './maildrop.js';
import { replies, type Reply } from './replies.js';

export interface LoginDeps {
  readonly settings: Pop3Settings;
  readonly counters: CounterSet<typeof counters>;
  readonly backing: MailBacking;
  readonly userSessions: Counter;
  readonly failuresByIp: FailureLimiter;
  readonly failuresByUser: FailureLimiter;
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

export type LoginOutcome = { readonly ok: true; readonly user: string; readonly maildrop: Maildrop } | { readonly ok: false; readonly reply: Reply };

const refuse = (reply: Reply): LoginOutcome => ({ ok: false, reply });

export async function authorize(deps: LoginDeps, attempt: LoginAttempt, ctx: LoginContext): Promise<LoginOutcome> {
  const { settings, failuresByIp, failuresByUser, userSessions } = deps;
  const throttle = new LoginThrottle(failuresByIp, failuresByUser);
  const limits = { maxFailuresPerSource: settings.maxLoginFailuresPerIp, maxFailuresPerUser: settings.maxLoginFailuresPerUser };
  if (throttle.refuses(ctx.ip, attempt.user, limits)) {
    deps.counters.inc('loginsRefused');
    ctx.log.warn({ user: attempt.user, mechanism: attempt.mechanism }, 'login refused: too many failures');
    await ctx.delay(settings.loginFailureDelay);
    return refuse(replies.tooManyFailures());
  }
  const canonical = await attempt.verify();
  if (ctx.closing()) return refuse(replies.authFailed());
  if (canonical === undefined) {
    deps.counters.inc('authFailures');
    throttle.failed(ctx.ip, attempt.user);
    ctx.log.info({ user: attempt.user, mechanism: attempt.mechanism }, 'login failed');
    await ctx.delay(settings.loginFailureDelay);
    return refuse(replies.authFailed());
  }
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
  return { ok: true, user: canonical, maildrop: opened.maildrop };
}
