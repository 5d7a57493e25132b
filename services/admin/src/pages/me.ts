/**
 * A signed-in user's own page (administrators have it too): their mail and file usage, a
 * password change (the current password is checked through the login policy, so guessing it
 * here is throttled like any sign-in), and how to connect clients: the text of `hearth files`,
 * from the same functions (`@hearth/files/connect-help`), for the suite's file service (over
 * HTTPS at the host the browser reached this page at when that reaches the listener, with its
 * warning when the suite's certificate does not name that host, or over plain HTTP when it has
 * no HTTPS listener: at that host too when other devices can follow the steps, else at the
 * listener's local address).
 */
import { AccountsError, isAccountsError } from '@hearth/accounts';
import { connectHelp, fileListener, httpsHost, localAddress, localHttpOrigin, loopbackListener, plainHttpConnectHelp } from '@hearth/files/connect-help';
import { homeFolder } from '@hearth/files/homes';
import type { RequestContext } from '../context.js';
import { filesServices, homeQuota, type FilesService } from '../files-settings.js';
import { formatBytes } from '../format.js';
import { html, type Html } from '../html.js';
import { page, redirect } from '../reply.js';
import type { Route } from '../routes.js';
import { hostReaching } from '../request-host.js';
import { folderBytes } from '../users.js';
import { csrfField, layout } from './layout.js';

function connectText(ctx: RequestContext, user: string, files: readonly FilesService[]): Html {
  const svc = files[0];
  const https = fileListener(svc?.status.listeners ?? [], true);
  const http = fileListener(svc?.status.listeners ?? [], false);
  if (svc && https) {
    // The host the browser reached this page at is the one the user's devices use, if they reach
    // the listener there; else (or when the request's Host is no valid host) the listener's address.
    const host = hostReaching(ctx.req.headers.host, https.address) ?? httpsHost(https.address, undefined);
    const text = connectHelp({
      user,
      host,
      httpsPort: https.port,
      httpOrigin: http ? localHttpOrigin(http.address, http.port) : undefined,
      certificate: ctx.deps.certificate(),
      hostCheck: ctx.deps.certificateHost(host),
      embeddedConfig: svc.file === undefined,
      loopbackOnly: loopbackListener(svc.name, https),
    });
    return html`<pre>${text}</pre>`;
  }
  if (svc && http) {
    // Plain HTTP only: its steps, and what the service and Windows refuse there. Other devices
    // follow them only if the listener is not on loopback and the service takes their passwords
    // over plain HTTP (allowPlaintextAuth): then at the host the browser used. Else only programs
    // on this machine can (the service takes a password over plain HTTP from a loopback peer
    // only): at the listener's local address, as the steps' note says.
    const loopbackOnly = loopbackListener(svc.name, http);
    const forOtherDevices = loopbackOnly === undefined && svc.settings.allowPlaintextAuth;
    const text = plainHttpConnectHelp({
      user,
      service: svc.name,
      host: (forOtherDevices ? hostReaching(ctx.req.headers.host, http.address) : undefined) ?? localAddress(http.address),
      port: http.port,
      loopbackOnly,
      allowPlaintextAuth: svc.settings.allowPlaintextAuth,
      embeddedConfig: svc.file === undefined,
    });
    return html`<pre>${text}</pre>`;
  }
  return html`<p>No file service with an HTTP or HTTPS listener runs in this suite.</p>`;
}

async function mePage(ctx: RequestContext): Promise<Html> {
  if (ctx.principal.kind !== 'user') throw new Error('the own page needs a signed-in user');
  const { account } = ctx.principal;
  const { store, dataDir, supervisor } = ctx.deps;
  const mail = store.listMaildrops().find((m) => m.name === account.name);
  const files = await filesServices(supervisor).catch(() => []);
  const quota = homeQuota(files);
  const used = await folderBytes(homeFolder(dataDir, account.name));
  return layout(
    ctx,
    'My account',
    '/me',
    html`<section aria-labelledby="usage-h">
<h2 id="usage-h">${account.name}</h2>
<dl class="usage">
<dt>Mail</dt><dd>${mail ? `${mail.messages} message${mail.messages === 1 ? '' : 's'}, ${formatBytes(mail.size)}` : 'no maildrop'}</dd>
<dt>Files (home folder)</dt><dd>${quota === undefined ? 'no file service' : `${formatBytes(used)} of ${quota === 0 ? 'no limit' : formatBytes(quota)}`}</dd>
<dt>Groups</dt><dd>${account.groups.join(', ') || 'none'}</dd>
<dt>Administrator</dt><dd>${account.admin ? 'yes' : 'no'}</dd>
</dl>
</section>
<section aria-labelledby="password-h">
<h2 id="password-h">Change your password</h2>
<form method="post" action="/me/password" class="stack">${csrfField(ctx)}
<p><label for="current">Current password</label><input id="current" name="current" type="password" autocomplete="current-password" required></p>
<p><label for="password">New password</label><input id="password" name="password" type="password" autocomplete="new-password" required></p>
<p><label for="confirm">New password again</label><input id="confirm" name="confirm" type="password" autocomplete="new-password" required></p>
<p><button type="submit">Change password</button></p>
</form>
</section>
<section aria-labelledby="connect-h">
<h2 id="connect-h">Connect your devices</h2>
${connectText(ctx, account.name, files)}
</section>`,
  );
}

export const meRoutes: readonly Route[] = [
  { method: 'GET', path: '/me', access: 'signed-in', run: async (ctx) => page(await mePage(ctx)) },
  {
    method: 'POST',
    path: '/me/password',
    access: 'signed-in',
    async run(ctx) {
      if (ctx.principal.kind !== 'user') throw new Error('a password change needs a signed-in user');
      const { deps, form } = ctx;
      const user = ctx.principal.account.name;
      const password = form.get('password') ?? '';
      const current = form.get('current') ?? '';
      const checked = await deps.login.attempt(ctx.remote, user, () => deps.accounts.verifyPassword(user, current), { password: current });
      try {
        if (!checked.ok) throw new AccountsError('BAD_PASSWORD', checked.reason === 'refused' ? 'too many failed attempts: try again later' : 'the current password is wrong');
        if (password !== form.get('confirm')) throw new AccountsError('BAD_PASSWORD', 'the two new passwords differ');
        await deps.accounts.setPassword(user, password);
        // This session goes on under the new stamp; the user's others end.
        const stamp = deps.accounts.credentialStamp(user);
        if (stamp !== undefined) deps.sessions.restamp(ctx.session, stamp);
        await deps.sessions.endUser(user, ctx.session);
        deps.log.info({ user, remote: ctx.remote }, 'password changed by its user');
        ctx.session.notice = { kind: 'ok', text: 'Your password was changed. Other sessions of yours were signed out.' };
      } catch (error) {
        if (!isAccountsError(error)) throw error;
        ctx.session.notice = { kind: 'error', text: `Refused: ${error.message}.` };
      }
      return redirect('/me');
    },
  },
];
