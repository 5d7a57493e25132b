/**
 * Sign-in, sign-out and the first administrator's setup. A sign-in goes through the suite's login
 * policy (failures counted per address and per user, persisted and shared with the mail and file
 * services; a failure is answered after the configured delay) and replaces the session with a
 * new one: new id, new CSRF token. The name may be the user's address in a mail domain, as for
 * POP3, SMTP and the file service. The right password of a disabled account is refused after the
 * same delay with the same words as a wrong one, unless the account was disabled with a reason,
 * which is shown then (as Dovecot's `nologin` reason); for the login policy it is no failure.
 */
import { AccountsError, disableReasonText, isAccountsError, localUser, normalizeUserName, validatePassword, type Authentication } from '@hearth/accounts';
import { MailStoreError } from '@hearth/mail-store';
import type { RequestContext } from '../context.js';
import { html, type Html } from '../html.js';
import { page, redirect, type Reply } from '../reply.js';
import type { Route } from '../routes.js';
import { createUser } from '../users.js';
import { csrfField, layout } from './layout.js';

async function signInForm(ctx: RequestContext, problem: string | undefined, name: string): Promise<Html> {
  const setup = (await ctx.deps.setup.current()).kind === 'open';
  return layout(
    ctx,
    'Sign in',
    '/sign-in',
    html`${problem ? html`<div class="notice error" role="alert"><p>${problem}</p></div>` : ''}
${setup ? html`<p>No administrator can sign in: open the one-time setup link that the admin service logs (<code>hearth logs admin</code> shows it; <code>hearth up</code> prints it when it starts).</p>` : ''}
<form method="post" action="/sign-in" class="stack">
${csrfField(ctx)}
<p><label for="name">User name</label><input id="name" name="name" autocomplete="username" required value="${name}"></p>
<p><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Sign in</button></p>
</form>`,
  );
}

function setupForm(ctx: RequestContext, token: string, problem: string | undefined, name: string): Html {
  return layout(
    ctx,
    'Create the first administrator',
    '/setup',
    html`${problem ? html`<div class="notice error" role="alert"><p>${problem}</p></div>` : ''}
<p>This link works once. The account gets a maildrop like any user, and can sign in here.</p>
<form method="post" action="/setup" class="stack">
${csrfField(ctx)}<input type="hidden" name="token" value="${token}">
<p><label for="name">User name</label><input id="name" name="name" autocomplete="username" required value="${name}"></p>
<p><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="new-password" required></p>
<p><label for="confirm">Password again</label><input id="confirm" name="confirm" type="password" autocomplete="new-password" required></p>
<p><button type="submit">Create administrator</button></p>
</form>`,
  );
}

const linkGone = (ctx: RequestContext): Reply =>
  page(layout(ctx, 'Setup link not valid', '/setup', html`<p>This setup link has been used, or an administrator already exists. <a href="/sign-in">Sign in</a>.</p>`), 404);

/**
 * What a right `password` proves (the account, or that it is disabled), else undefined (a
 * malformed name is just wrong).
 */
async function check(ctx: RequestContext, name: string, password: string): Promise<Exclude<Authentication, { kind: 'rejected' }> | undefined> {
  try {
    const checked = await ctx.deps.accounts.authenticate(name, password);
    return checked.kind === 'rejected' ? undefined : checked;
  } catch (error) {
    if (isAccountsError(error) && !error.temporary) return undefined;
    throw error;
  }
}

export const signInRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/sign-in',
    access: 'public',
    run: async (ctx) => (ctx.principal.kind === 'user' ? redirect(ctx.principal.account.admin ? '/' : '/me') : page(await signInForm(ctx, undefined, ''))),
  },
  {
    method: 'POST',
    path: '/sign-in',
    access: 'public',
    async run(ctx) {
      const name = (ctx.form.get('name') ?? '').trim();
      const password = ctx.form.get('password') ?? '';
      const { deps } = ctx;
      // The name as every protocol takes it (`alice` or `alice@` a mail domain), counted under the
      // local user; an address in another domain fails as a wrong password does.
      const local = localUser(name, deps.mailDomains());
      // Read before the check, as POP3 and SMTP do: a password set or a disable while the check
      // runs then ends the session at its next request, instead of being signed in under it.
      const stamp = local === undefined ? undefined : deps.accounts.credentialStamp(local);
      const verify = (): ReturnType<typeof check> => (local === undefined ? Promise.resolve(undefined) : check(ctx, local, password));
      const result = await deps.login.attempt(ctx.remote, local ?? name, verify, { password, isLogin: (checked) => checked.kind === 'accepted' });
      if (!result.ok) {
        // A wrong password is a failure; a refusal past the limits is counted apart, as the
        // right password of a disabled account (below), in every service that logs users in.
        deps.stats.inc(result.reason === 'refused' ? 'loginsRefused' : 'signInFailures');
        deps.log.warn({ user: name, remote: ctx.remote, reason: result.reason }, 'sign-in refused');
        const problem = result.reason === 'refused' ? 'Too many failed sign-ins: try again later.' : 'Wrong user name or password.';
        return page(await signInForm(ctx, problem, name), 401);
      }
      if (result.value.kind === 'disabled') {
        const { user, reason } = result.value;
        deps.stats.inc('loginsRefused');
        deps.log.warn({ user, remote: ctx.remote }, 'login refused: account disabled');
        const problem = reason === undefined ? 'Wrong user name or password.' : `This account is disabled: ${disableReasonText(reason, 'utf-8')}`;
        return page(await signInForm(ctx, problem, name), 401);
      }
      const { user } = result.value;
      const next = await deps.sessions.signIn(ctx.session, user, stamp);
      ctx.switchSession(next);
      deps.stats.inc('signIns');
      deps.log.info({ user, remote: ctx.remote }, 'signed in');
      return redirect(deps.accounts.find(user)?.admin === true ? '/' : '/me');
    },
  },
  {
    method: 'POST',
    path: '/sign-out',
    access: 'public',
    async run(ctx) {
      await ctx.deps.sessions.end(ctx.session);
      ctx.switchSession(ctx.deps.sessions.create());
      return redirect('/sign-in');
    },
  },
  {
    method: 'GET',
    path: '/setup',
    access: 'public',
    async run(ctx) {
      const token = ctx.url.searchParams.get('token');
      if (!(await ctx.deps.setup.accepts(token))) return linkGone(ctx);
      return page(setupForm(ctx, token ?? '', undefined, ''));
    },
  },
  {
    method: 'POST',
    path: '/setup',
    access: 'public',
    async run(ctx) {
      const { deps, form } = ctx;
      const token = form.get('token');
      if (!(await deps.setup.accepts(token))) return linkGone(ctx);
      const name = (form.get('name') ?? '').trim();
      const password = form.get('password') ?? '';
      let user: string;
      try {
        user = normalizeUserName(name);
        validatePassword(password);
        if (password !== form.get('confirm')) throw new AccountsError('BAD_PASSWORD', 'the two passwords differ');
        if (deps.accounts.has(user)) throw new AccountsError('USER_EXISTS', `user ${user} already exists`);
      } catch (error) {
        if (isAccountsError(error)) return page(setupForm(ctx, token ?? '', error.message, name), 400);
        throw error;
      }
      // Closed with no I/O awaited since the check above: a second post of the same link finds it closed.
      try {
        await deps.setup.use(async () => {
          await createUser(deps, user, password);
          deps.accounts.setAdmin(user, true);
        });
      } catch (error) {
        if (isAccountsError(error) || error instanceof MailStoreError) return page(setupForm(ctx, '', error.message, name), 400);
        throw error;
      }
      deps.log.info({ user, remote: ctx.remote }, 'first administrator created');
      deps.stats.inc('signIns');
      ctx.switchSession(await deps.sessions.signIn(ctx.session, user, deps.accounts.credentialStamp(user)));
      return redirect('/');
    },
  },
];
