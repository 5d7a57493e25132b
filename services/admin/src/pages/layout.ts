/**
 * The frame of every page: a skip link, the navigation (what the principal may open), the notice
 * left by the last form, the page's main content, and the sign-out button. Scripts are files
 * under /static (the CSP forbids inline ones) and only add live updates.
 */
import type { RequestContext } from '../context.js';
import { html, type Html } from '../html.js';
import type { Notice } from '../sessions.js';

export interface PageOptions {
  /** A script under /static/ that adds live updates to this page. */
  readonly script?: 'live.js';
}

/** The hidden field every form carries. */
export const csrfField = (ctx: RequestContext): Html => html`<input type="hidden" name="csrf" value="${ctx.session.csrf}">`;

function nav(ctx: RequestContext, current: string): Html {
  if (ctx.principal.kind !== 'user') return html``;
  const links: Array<[string, string]> = ctx.principal.account.admin
    ? [['/', 'Dashboard'], ['/users', 'Users'], ['/shares', 'Shares'], ['/logs', 'Logs'], ['/me', 'My account']]
    : [['/me', 'My account']];
  return html`<nav aria-label="Main"><ul>${links.map(
    ([href, label]) => html`<li><a href="${href}"${href === current ? html` aria-current="page"` : ''}>${label}</a></li>`,
  )}</ul>
<form method="post" action="/sign-out" class="sign-out">${csrfField(ctx)}<span>${ctx.principal.account.name}</span> <button type="submit">Sign out</button></form></nav>`;
}

export function noticeBox(notice: Notice | undefined): Html {
  if (notice === undefined) return html``;
  return html`<div class="notice ${notice.kind}" role="${notice.kind === 'error' ? 'alert' : 'status'}"><p>${notice.text}</p>${
    notice.details && notice.details.length > 0 ? html`<ul>${notice.details.map((d) => html`<li><code>${d}</code></li>`)}</ul>` : ''
  }</div>`;
}

/** A whole page; takes (and clears) the session's notice. */
export function layout(ctx: RequestContext, title: string, current: string, body: Html, options: PageOptions = {}): Html {
  const notice = ctx.session.notice;
  ctx.session.notice = undefined;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Hearth</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/admin.css">
${options.script ? html`<script src="/static/${options.script}" defer></script>` : ''}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header><p class="brand">Hearth</p>${nav(ctx, current)}</header>
<main id="main" tabindex="-1">
<h1>${title}</h1>
${noticeBox(notice)}
${body}
</main>
</body>
</html>
`;
}
