/**
 * Users: every account with its mail (messages and bytes in its maildrop) and its home folder's
 * usage against the file service's quota; add a user, reset a password, APOP on or off, its
 * groups (what a share's `@group` names), the administrator flag, disable (with a reason) and
 * enable, delete (with its mail and its home folder's files when "also delete" is ticked). Each
 * form answers with a notice on the list; a refusal (a home folder that holds files without "also
 * delete", the store's when a maildrop holds mail or a POP3 session holds it, the accounts' for a
 * bad name or password) is shown in its own words. Turning APOP on answers with a page of its
 * own instead: the page makes the secret (`generateApopSecret`) and shows it there once. It takes
 * no typed secret, so it never compares one with the password and tells nothing about it.
 */
import { AccountsError, disableReasonText, generateApopSecret, isAccountsError, MAX_DISABLE_REASON, parseGroupList } from '@hearth/accounts';
import type { Account, Disabled } from '@hearth/accounts';
import { homeFolder, homeHoldsFiles } from '@hearth/files/homes';
import { isMailStoreError } from '@hearth/mail-store';
import type { RequestContext } from '../context.js';
import { filesServices, homeQuota } from '../files-settings.js';
import { formatBytes } from '../format.js';
import { html, type Html } from '../html.js';
import { page, redirect, type Reply } from '../reply.js';
import type { Route } from '../routes.js';
import type { Notice } from '../sessions.js';
import { HomeNotEmptyError, createUser, deleteUser, deletedText, folderBytes } from '../users.js';
import { csrfField, layout } from './layout.js';

interface Row {
  readonly account: Account;
  readonly messages: number;
  readonly mailBytes: number;
  readonly fileBytes: number;
  /** Whether its home folder holds anything (deleting the user then needs purge). */
  readonly homeFiles: boolean;
}

/** The purge checkbox's label: what deleting the user also deletes, when it has anything. */
function purgeLabel(row: Row): string | undefined {
  const what = [
    ...(row.messages > 0 ? [`its ${row.messages} message${row.messages === 1 ? '' : 's'}`] : []),
    ...(row.homeFiles ? ['the files in its home folder'] : []),
  ];
  return what.length === 0 ? undefined : `also delete ${what.join(' and ')}`;
}

/** The list's Login cell: `enabled`, or since when (UTC) and why the account is disabled. */
function loginText(disabled: Disabled | undefined): string {
  if (disabled === undefined) return 'enabled';
  const since = disabled.since.toISOString().slice(0, 16).replace('T', ' ');
  return `disabled since ${since} UTC${disabled.reason === undefined ? '' : `: ${disableReasonText(disabled.reason, 'utf-8')}`}`;
}

/** Disable (with a reason) or enable; never one's own account, which would sign oneself out for good. */
function access(row: Row, i: number, self: boolean, hidden: Html): Html {
  const name = row.account.name;
  if (row.account.disabled !== undefined) {
    return html`<form method="post" action="/users/enable">${hidden}<p><button type="submit">Enable ${name}</button> (logins with the same password again)</p></form>`;
  }
  if (self) return html`<p><button type="button" disabled>Disable ${name}</button> You cannot disable the account you are signed in with: another administrator can.</p>`;
  return html`<form method="post" action="/users/disable">${hidden}<p><label for="reason-${i}">Reason for disabling ${name} (optional; shown in this list, and to whoever logs in with the right password)</label> <input id="reason-${i}" name="reason" maxlength="${String(MAX_DISABLE_REASON)}" autocomplete="off"> <button type="submit">Disable ${name}</button></p></form>`;
}

function manage(ctx: RequestContext, row: Row, i: number): Html {
  const name = row.account.name;
  const self = ctx.principal.kind === 'user' && ctx.principal.account.name === name;
  const hidden = html`${csrfField(ctx)}<input type="hidden" name="name" value="${name}">`;
  const purge = purgeLabel(row);
  return html`<details><summary>Manage ${name}</summary>
<form method="post" action="/users/password">${hidden}<p><label for="pw-${i}">New password for ${name}</label> <input id="pw-${i}" name="password" type="password" autocomplete="new-password" required> <button type="submit">Reset password</button></p></form>
<form method="post" action="/users/apop">${hidden}${
    row.account.apop
      ? html`<p>APOP is on. <button type="submit" name="clear" value="1">Turn APOP off</button> <button type="submit">Make a new APOP secret</button> (the old one stops working)</p>`
      : html`<p><button type="submit">Turn APOP on for ${name}</button> (a secret is made for it and shown once)</p>`
  }</form>
<form method="post" action="/users/groups">${hidden}<p><label for="groups-${i}">Groups of ${name} (comma-separated; empty for none)</label> <input id="groups-${i}" name="groups" value="${row.account.groups.join(', ')}" autocomplete="off"> <button type="submit">Set groups</button></p></form>
${access(row, i, self, hidden)}
<form method="post" action="/users/admin">${hidden}<input type="hidden" name="admin" value="${row.account.admin ? 'off' : 'on'}"><p><button type="submit"${self && row.account.admin ? html` disabled` : ''}>${row.account.admin ? 'Remove administrator' : 'Make administrator'}</button></p></form>
<form method="post" action="/users/delete">${hidden}<p>${
    purge === undefined ? '' : html`<input id="purge-${i}" name="purge" type="checkbox" value="1"> <label for="purge-${i}">${purge}</label> `
  }<button type="submit"${self ? html` disabled` : ''}>Delete ${name}</button></p></form>
</details>`;
}

async function usersPage(ctx: RequestContext): Promise<Html> {
  const { accounts, store, dataDir, supervisor } = ctx.deps;
  const mail = new Map(store.listMaildrops().map((m) => [m.name, m]));
  const quota = homeQuota(await filesServices(supervisor).catch(() => []));
  const rows: Row[] = await Promise.all(
    accounts.list().map(async (account) => ({
      account,
      messages: mail.get(account.name)?.messages ?? 0,
      mailBytes: mail.get(account.name)?.size ?? 0,
      fileBytes: await folderBytes(homeFolder(dataDir, account.name)),
      homeFiles: await homeHoldsFiles(dataDir, account.name),
    })),
  );
  const files = (r: Row): string => (quota === undefined ? '–' : `${formatBytes(r.fileBytes)} of ${quota === 0 ? 'no limit' : formatBytes(quota)}`);
  return layout(
    ctx,
    'Users',
    '/users',
    html`<section aria-labelledby="add-h">
<h2 id="add-h">Add a user</h2>
<form method="post" action="/users/add" class="stack">${csrfField(ctx)}
<p><label for="new-name">User name</label><input id="new-name" name="name" autocomplete="off" required></p>
<p><label for="new-password">Password</label><input id="new-password" name="password" type="password" autocomplete="new-password" required></p>
<p><button type="submit">Add user</button></p>
</form>
</section>
<section aria-labelledby="list-h">
<h2 id="list-h">${rows.length} user${rows.length === 1 ? '' : 's'}</h2>
<div class="scroll"><table>
<thead><tr><th scope="col">Name</th><th scope="col">Mail</th><th scope="col">Files (home)</th><th scope="col">APOP</th><th scope="col">Administrator</th><th scope="col">Groups</th><th scope="col">Login</th><th scope="col">Manage</th></tr></thead>
<tbody>${rows.map(
      (r, i) => html`<tr data-user="${r.account.name}"><th scope="row">${r.account.name}</th><td>${r.messages} message${r.messages === 1 ? '' : 's'}, ${formatBytes(r.mailBytes)}</td><td>${files(r)}</td><td>${r.account.apop ? 'on' : 'off'}</td><td>${r.account.admin ? 'yes' : 'no'}</td><td>${r.account.groups.join(', ') || '–'}</td><td>${loginText(r.account.disabled)}</td><td>${manage(ctx, r, i)}</td></tr>`,
    )}</tbody>
</table></div>
</section>`,
  );
}

/**
 * The answer to turning APOP on: the generated secret, shown this once (the page is not cached,
 * and the secret is in no notice, log or other store), with what to do with it.
 */
function apopSecretPage(ctx: RequestContext, user: string, secret: string): Html {
  return layout(
    ctx,
    'Users',
    '/users',
    html`<section aria-labelledby="apop-h">
<h2 id="apop-h">APOP is on for ${user}</h2>
<p>The APOP secret of ${user}:</p>
<p><code id="apop-secret">${secret}</code></p>
<p>Enter it, hyphens included, as the POP3 password of ${user} in a mail client set to use APOP. It works for APOP only: everywhere else, and in POP3 without APOP, ${user} logs in with the password, which this does not change.</p>
<p>This page shows it once: it is not shown again. If it is lost, make a new one (Manage ${user}, Make a new APOP secret); the old one then stops working.</p>
<p><a href="/users">Back to the users</a></p>
</section>`,
  );
}

/** Runs a change; its result (or the accounts' or the store's refusal) becomes the notice. */
async function change(ctx: RequestContext, what: () => Promise<string | Notice> | string | Notice): Promise<Reply> {
  ctx.deps.stats.inc('actions');
  try {
    const result = await what();
    ctx.session.notice = typeof result === 'string' ? { kind: 'ok', text: result } : result;
  } catch (error) {
    if (!isAccountsError(error) && !isMailStoreError(error) && !(error instanceof HomeNotEmptyError)) throw error;
    ctx.session.notice = { kind: 'error', text: `Refused: ${error.message}.` };
  }
  return redirect('/users');
}

const refused = (why: string): Notice => ({ kind: 'error', text: `Refused: ${why}.` });
const nameOf = (ctx: RequestContext): string => (ctx.form.get('name') ?? '').trim();
const selfOf = (ctx: RequestContext): string | undefined => (ctx.principal.kind === 'user' ? ctx.principal.account.name : undefined);

export const userRoutes: readonly Route[] = [
  { method: 'GET', path: '/users', access: 'admin', run: async (ctx) => page(await usersPage(ctx)) },
  {
    method: 'POST',
    path: '/users/add',
    access: 'admin',
    run: (ctx) => change(ctx, async () => `Added user ${await createUser(ctx.deps, nameOf(ctx), ctx.form.get('password') ?? '')}.`),
  },
  {
    method: 'POST',
    path: '/users/password',
    access: 'admin',
    run: (ctx) =>
      change(ctx, async () => {
        const name = nameOf(ctx);
        const { accounts, sessions } = ctx.deps;
        await accounts.setPassword(name, ctx.form.get('password') ?? '');
        const user = accounts.find(name)?.name ?? name;
        // An administrator resetting their own password stays signed in here, under the new stamp.
        const stamp = accounts.credentialStamp(user);
        if (user === selfOf(ctx) && stamp !== undefined) sessions.restamp(ctx.session, stamp);
        await sessions.endUser(user, ctx.session);
        return `Changed the password of ${name}.`;
      }),
  },
  {
    method: 'POST',
    path: '/users/apop',
    access: 'admin',
    run: async (ctx) => {
      const name = nameOf(ctx);
      const { accounts } = ctx.deps;
      // A typed secret is refused whatever it is, so the answer says nothing of the password.
      if (ctx.form.has('secret')) return change(ctx, () => refused('the page makes APOP secrets itself and takes no typed one'));
      if (ctx.form.get('clear') === '1') {
        return change(ctx, () => {
          if (!accounts.has(name)) throw new AccountsError('NO_SUCH_USER', `no such user: ${name}`);
          return accounts.clearApopSecret(name) ? `APOP is off for ${name}.` : `${name} had no APOP secret.`;
        });
      }
      ctx.deps.stats.inc('actions');
      try {
        const user = accounts.find(name)?.name;
        if (user === undefined) throw new AccountsError('NO_SUCH_USER', `no such user: ${name}`);
        const secret = generateApopSecret();
        accounts.setApopSecret(user, secret);
        return page(apopSecretPage(ctx, user, secret));
      } catch (error) {
        if (!isAccountsError(error)) throw error;
        ctx.session.notice = refused(error.message);
        return redirect('/users');
      }
    },
  },
  {
    method: 'POST',
    path: '/users/groups',
    access: 'admin',
    run: (ctx) =>
      change(ctx, () => {
        const name = nameOf(ctx);
        const { accounts } = ctx.deps;
        const groups = parseGroupList(ctx.form.get('groups') ?? '');
        accounts.setGroups(name, groups);
        const now = accounts.find(name)?.groups ?? [];
        return now.length > 0 ? `${name} is in ${now.join(', ')}.` : `${name} is in no group.`;
      }),
  },
  {
    method: 'POST',
    path: '/users/admin',
    access: 'admin',
    run: (ctx) =>
      change(ctx, () => {
        const name = nameOf(ctx);
        const on = ctx.form.get('admin') === 'on';
        if (!on && ctx.deps.accounts.find(name)?.name === selfOf(ctx)) return refused('you cannot remove your own administrator flag: another administrator can');
        ctx.deps.accounts.setAdmin(name, on);
        return on ? `${name} is an administrator.` : `${name} is no longer an administrator.`;
      }),
  },
  {
    method: 'POST',
    path: '/users/disable',
    access: 'admin',
    run: (ctx) =>
      change(ctx, async () => {
        const name = nameOf(ctx);
        const { accounts, sessions } = ctx.deps;
        if (accounts.find(name)?.name === selfOf(ctx)) return refused('you cannot disable the account you are signed in with: another administrator can');
        const newly = accounts.disable(name, ctx.form.get('reason') ?? '');
        const user = accounts.find(name)?.name ?? name;
        await sessions.endUser(user);
        return newly ? `Disabled ${user}: it can no longer log in.` : `${user} was already disabled; its reason is updated.`;
      }),
  },
  {
    method: 'POST',
    path: '/users/enable',
    access: 'admin',
    run: (ctx) =>
      change(ctx, () => {
        const name = nameOf(ctx);
        return ctx.deps.accounts.enable(name) ? `Enabled ${name}: it can log in again.` : `${name} was not disabled.`;
      }),
  },
  {
    method: 'POST',
    path: '/users/delete',
    access: 'admin',
    run: (ctx) =>
      change(ctx, async () => {
        const name = nameOf(ctx);
        if (ctx.deps.accounts.find(name)?.name === selfOf(ctx)) return refused('you cannot delete the account you are signed in with');
        const deleted = await deleteUser(ctx.deps, name, ctx.form.get('purge') === '1');
        await ctx.deps.sessions.endUser(deleted.user);
        return `Deleted ${deletedText(deleted)}.`;
      }),
  },
];
