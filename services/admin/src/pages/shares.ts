/**
 * Shares: every share of every file service (path, who may read and write, quota, requests in
 * progress now as the service answers over the bus), the home folders, and forms to add, change or remove
 * a share. The config file stays the one source of truth: a
 * change is written into it (`config-edit.ts`, comments kept) and applied as `hearth reload`
 * does, so the file service swaps only the changed share and transfers under way finish on the
 * definition they started with. A change the reload refuses is undone in the file and its
 * problems shown. Under the embedded default config (no file) shares are shown, not edited.
 */
import { isAbsolute, resolve } from 'node:path';
import type { ShareActivity } from '@hearth/files/activity';
import { settingsSchema, type ShareSettings } from '@hearth/files/config';
import { applyShareChange, ConfigEditError, type ShareChange, type ShareEntry } from '../config-edit.js';
import type { RequestContext } from '../context.js';
import { filesServices, type FilesService } from '../files-settings.js';
import { formatBytes, formatSize } from '../format.js';
import { html, type Html } from '../html.js';
import { page, redirect } from '../reply.js';
import type { Route } from '../routes.js';
import type { Notice } from '../sessions.js';
import { csrfField, layout } from './layout.js';

const list = (names: readonly string[]): string => names.join(', ');

/** A share's quota as the page shows it and its forms take it back: `10MB`, or empty for none. */
const quotaText = (quota: number): string => (quota === 0 ? '' : formatSize(quota));

function shareForm(ctx: RequestContext, svc: FilesService, name: string | undefined, share: ShareSettings | undefined, id: string): Html {
  const fields = html`${csrfField(ctx)}<input type="hidden" name="service" value="${svc.name}">`;
  return html`<form method="post" action="/shares/save" class="stack">${fields}
${name === undefined ? html`<input type="hidden" name="adding" value="1"><p><label for="${id}-name">Share name</label><input id="${id}-name" name="share" required pattern="[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}"></p>` : html`<input type="hidden" name="share" value="${name}">`}
<p><label for="${id}-path">Folder</label><input id="${id}-path" name="path" required value="${share?.path ?? ''}"></p>
<p><label for="${id}-read">Who may read (names, @group or *; commas between)</label><input id="${id}-read" name="read" value="${list(share?.read ?? [])}"></p>
<p><label for="${id}-write">Who may write</label><input id="${id}-write" name="write" value="${list(share?.write ?? [])}"></p>
<p><label for="${id}-quota">Quota (e.g. 500MB, 2GiB; empty for no limit)</label><input id="${id}-quota" name="quota" value="${quotaText(share?.quota ?? 0)}"></p>
<p class="check"><input id="${id}-apple" name="refuseAppleFiles" type="checkbox" value="1"${share?.refuseAppleFiles ? html` checked` : ''}> <label for="${id}-apple">Refuse macOS ._* and .DS_Store files</label></p>
<p><button type="submit">${name === undefined ? 'Add share' : `Save ${name}`}</button></p>
</form>`;
}

function servicePart(ctx: RequestContext, svc: FilesService, n: number, activity: ShareActivity | undefined): Html {
  const busy = (share: string): string => (activity === undefined ? 'unknown' : String(activity.inProgress[share] ?? 0));
  const shares = Object.entries(svc.settings.shares);
  const editable = svc.file !== undefined;
  const root = (p: string): string => (isAbsolute(p) ? resolve(p) : resolve(ctx.deps.dataDir, p));
  const home = svc.settings.home;
  return html`<section aria-labelledby="svc-${n}">
<h2 id="svc-${n}">${svc.name}</h2>
<p>${editable ? html`Shares are kept in <code>${svc.file}</code>; a change here is written there and applied as a reload.` : html`<code>hearth up</code> runs its embedded default config: start it with <code>--config FILE</code> to edit shares here.`}</p>
<p>Home folders: ${home.enabled ? `on, quota ${home.quota === 0 ? 'none' : formatBytes(home.quota)}; requests in progress: ${busy('home')}` : 'off'}.</p>
<div class="scroll"><table>
<thead><tr><th scope="col">Share</th><th scope="col">Folder</th><th scope="col">Read</th><th scope="col">Write</th><th scope="col">Quota</th><th scope="col">Requests in progress</th><th scope="col">Change</th></tr></thead>
<tbody>${shares.length === 0 ? html`<tr><td colspan="7">No shares.</td></tr>` : ''}${shares.map(
    ([name, s], i) => html`<tr data-share="${name}"><th scope="row">${name}</th><td><code>${root(s.path)}</code></td><td>${list(s.read) || '–'}</td><td>${list(s.write) || '–'}</td><td>${quotaText(s.quota) || 'none'}</td><td>${busy(name)}</td><td>${
      editable
        ? html`<details><summary>Change ${name}</summary>${shareForm(ctx, svc, name, s, `s${n}-${i}`)}<form method="post" action="/shares/delete">${csrfField(ctx)}<input type="hidden" name="service" value="${svc.name}"><input type="hidden" name="share" value="${name}"><p><button type="submit">Remove ${name}</button></p></form></details>`
        : '–'
    }</td></tr>`,
  )}</tbody>
</table></div>
${editable ? html`<h3>Add a share to ${svc.name}</h3>${shareForm(ctx, svc, undefined, undefined, `new${n}`)}` : ''}
</section>`;
}

async function sharesPage(ctx: RequestContext): Promise<Html> {
  let body: Html;
  try {
    const services = await filesServices(ctx.deps.supervisor);
    body = services.length === 0 ? html`<p>No file service runs in this suite.</p>` : html`${await Promise.all(services.map(async (s, n) => servicePart(ctx, s, n, await ctx.deps.activity(s.name))))}`;
  } catch (error) {
    body = html`<p>The supervisor did not answer: ${(error as Error).message}</p>`;
  }
  return layout(ctx, 'Shares', '/shares', body);
}

const names = (text: string | null): string[] =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** The quota field as written into the file: a number of bytes as a number, a size with its unit as typed; undefined when empty. */
function quotaOf(text: string | null): string | number | undefined {
  const typed = (text ?? '').trim();
  if (typed === '') return undefined;
  return /^\d+$/.test(typed) ? Number(typed) : typed;
}

interface Issue {
  readonly message: string;
  readonly path: readonly PropertyKey[];
  readonly issues?: readonly Issue[];
}

/** The schema's issues as lines: `read.0: ...`; a refused share name gives its own reasons. */
function problemsOf(issues: readonly Issue[]): string[] {
  return issues.flatMap((i) => {
    if (i.issues && i.issues.length > 0) return problemsOf(i.issues).map((p) => p.replace(/^share/, 'share name'));
    const at = i.path.slice(2).map(String).join('.');
    return [`${at === '' ? 'share' : at}: ${i.message}`];
  });
}

/** Checks the form with the file service's own schema, then edits the file and reloads. */
async function change(ctx: RequestContext, make: (share: string) => ShareChange | string): Promise<Notice> {
  const service = ctx.form.get('service') ?? '';
  const share = (ctx.form.get('share') ?? '').trim();
  const svc = (await filesServices(ctx.deps.supervisor)).find((s) => s.name === service);
  if (!svc) return { kind: 'error', text: `Refused: no file service named ${service}.` };
  if (svc.file === undefined) return { kind: 'error', text: 'Refused: hearth up runs its embedded default config, which has no file to edit.' };
  // The add form names a new share: one of that name is changed in its own row, not replaced here.
  if (ctx.form.get('adding') === '1' && Object.hasOwn(svc.settings.shares, share)) {
    return { kind: 'error', text: `Refused: a share named ${share} exists already; change it in its row.` };
  }
  const made = make(share);
  if (typeof made === 'string') return { kind: 'error', text: `Refused: ${made}.` };
  ctx.deps.stats.inc('actions');
  let outcome;
  try {
    outcome = await applyShareChange(ctx.deps.supervisor, svc.file, service, made);
  } catch (error) {
    if (error instanceof ConfigEditError) return { kind: 'error', text: `Refused: ${error.message}.` };
    throw error;
  }
  if (outcome.kind === 'refused') return { kind: 'error', text: 'The reload refused the change; the config file is as it was.', details: outcome.problems };
  const r = outcome.reload.result;
  const how = r.reloaded.includes(service)
    ? 'applied in place'
    : r.restarted.includes(service)
      ? 'applied by a restart'
      : (r.updatedStopped ?? []).includes(service)
        ? `saved; ${service} is stopped and uses it at its next start`
        : 'saved';
  ctx.deps.log.info({ service, share, change: made.kind, user: ctx.principal.kind === 'user' ? ctx.principal.account.name : undefined }, 'share changed');
  return { kind: r.failed.length > 0 ? 'error' : 'ok', text: `${made.kind === 'delete' ? 'Removed' : 'Saved'} share ${share} (${how}).`, details: r.failed.map((f) => `${f.name}: ${f.error}`) };
}

export const shareRoutes: readonly Route[] = [
  { method: 'GET', path: '/shares', access: 'admin', run: async (ctx) => page(await sharesPage(ctx)) },
  {
    method: 'POST',
    path: '/shares/save',
    access: 'admin',
    async run(ctx) {
      ctx.session.notice = await change(ctx, (share) => {
        const fields = { path: (ctx.form.get('path') ?? '').trim(), read: names(ctx.form.get('read')), write: names(ctx.form.get('write')), refuseAppleFiles: ctx.form.get('refuseAppleFiles') === '1' };
        const quota = quotaOf(ctx.form.get('quota'));
        const checked = settingsSchema.safeParse({ shares: { [share]: { ...fields, ...(quota === undefined ? {} : { quota }) } } });
        if (!checked.success) return problemsOf(checked.error.issues).join('; ');
        // A quota of 0 is no limit: the key is left out, as an empty field leaves it.
        const entry: ShareEntry = { ...fields, quota: checked.data.shares[share]?.quota === 0 ? undefined : quota };
        return { kind: 'set', share, entry };
      });
      return redirect('/shares');
    },
  },
  {
    method: 'POST',
    path: '/shares/delete',
    access: 'admin',
    async run(ctx) {
      ctx.session.notice = await change(ctx, (share) => ({ kind: 'delete', share }));
      return redirect('/shares');
    },
  },
];
