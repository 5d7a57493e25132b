/**
 * The admin page's request handler, the same for every listener. Per request, in order: the
 * security headers, static files, the route (404/405), the session (a new anonymous one when the
 * cookie names none that is live), who is asking (the account re-read every time), access, the
 * form of a POST (urlencoded, at most 64 KiB) and its CSRF token, then the route's `run`.
 * Whatever it throws is logged and answered with a plain 500 page (507 when the disk is full).
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { TlsOptions } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { isAccountsError } from '@hearth/accounts';
import { isDiskFull } from '@hearth/sqlite';
import { answerHalfClosed, answerPlainHttp } from '@hearth/tls';
import type { AppDeps, Principal, RequestContext } from './context.js';
import { html } from './html.js';
import { SECURITY_HEADERS, page, sendReply, text, type Reply } from './reply.js';
import { Router, type Route } from './routes.js';
import { csrfMatches, sessionCookie, sessionIdOf, type Session } from './sessions.js';

/** Largest form body accepted. */
export const MAX_FORM = 64 * 1024;

const STATIC_TYPES: Readonly<Record<string, string>> = { 'admin.css': 'text/css; charset=utf-8', 'live.js': 'text/javascript; charset=utf-8', 'favicon.svg': 'image/svg+xml' };

function loadStatic(): Map<string, { type: string; body: Buffer }> {
  const dir = new URL('../public/', import.meta.url);
  return new Map(Object.entries(STATIC_TYPES).map(([name, type]) => [`/static/${name}`, { type, body: readFileSync(fileURLToPath(new URL(name, dir))) }]));
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return Promise.reject(new HttpError(415, 'forms are sent as application/x-www-form-urlencoded'));
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_FORM) {
        reject(new HttpError(413, `a form is at most ${MAX_FORM} bytes`));
        req.destroy();
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(parts).toString('utf8'))));
    req.on('error', reject);
  });
}

/**
 * The session's account, while its credential stamp is the one of the sign-in: a password set
 * since (on the page or by `hearth user passwd`) or the account deleted (even made again under the
 * same name) signs the session out. A session signed in before stamps were kept takes the stamp of now.
 */
function principalOf(deps: AppDeps, session: Session): Principal {
  const { state } = session;
  if (state.kind !== 'signed-in') return { kind: 'anonymous' };
  const stamp = deps.accounts.credentialStamp(state.user);
  const account = stamp === undefined ? undefined : deps.accounts.find(state.user);
  if (stamp === undefined || account === undefined) return { kind: 'anonymous' };
  if (state.stamp === undefined) deps.sessions.restamp(session, stamp);
  else if (state.stamp !== stamp) return { kind: 'anonymous' };
  return { kind: 'user', account };
}

const errorPage = (status: number, title: string, message: string): Reply =>
  page(
    html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title} · Hearth</title><link rel="icon" href="/static/favicon.svg" type="image/svg+xml"><link rel="stylesheet" href="/static/admin.css"></head><body><main id="main"><h1>${title}</h1><p>${message}</p><p><a href="/">Back</a></p></main></body></html>`,
    status,
  );

export interface AdminServer {
  httpsServer(tls: TlsOptions): Server;
  stop(deadline: number): Promise<void>;
}

export function createAdminServer(deps: AppDeps, routes: readonly Route[]): AdminServer {
  const router = new Router(routes);
  const statics = loadStatic();
  const servers: Server[] = [];
  /** Requests being answered, live streams not counted (they end only when the client goes). */
  let busy = 0;
  let idle: (() => void) | undefined;

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<Reply> {
    const url = new URL(req.url ?? '/', 'https://admin.invalid');
    const method = req.method ?? 'GET';
    const file = statics.get(url.pathname);
    if (file && (method === 'GET' || method === 'HEAD')) return { kind: 'text', status: 200, contentType: file.type, body: file.body.toString('utf8') };
    const found = router.find(method, url.pathname);
    if (found.kind === 'none') return errorPage(404, 'Not found', 'There is no page here.');
    if (found.kind === 'wrong-method') return { kind: 'text', status: 405, contentType: 'text/plain; charset=utf-8', body: 'method not allowed\n', headers: { Allow: found.allow } };
    const route = found.route;
    let session = route.session === 'none' ? deps.sessions.ephemeral() : deps.sessions.get(sessionIdOf(req.headers.cookie));
    if (session === undefined) {
      session = deps.sessions.create();
      res.setHeader('Set-Cookie', sessionCookie(session));
    }
    const principal = principalOf(deps, session);
    if (route.access !== 'public') {
      if (principal.kind !== 'user') return method === 'GET' ? { kind: 'redirect', location: '/sign-in' } : errorPage(403, 'Signed out', 'Your session has ended: sign in again.');
      if (route.access === 'admin' && !principal.account.admin) return errorPage(403, 'Not allowed', 'This page is for administrators.');
    }
    let form = new URLSearchParams();
    if (method === 'POST') {
      form = await readForm(req);
      if (!csrfMatches(session, form.get('csrf'))) {
        deps.stats.inc('csrfRefused');
        deps.log.warn({ path: url.pathname, remote: req.socket.remoteAddress }, 'form refused: missing or wrong CSRF token');
        return errorPage(403, 'Form refused', 'This form has expired or did not come from this page: go back, reload it and try again.');
      }
    }
    const ctx: RequestContext = {
      deps,
      req,
      url,
      remote: req.socket.remoteAddress ?? 'unknown',
      session,
      principal,
      form,
      switchSession(next) {
        res.setHeader('Set-Cookie', sessionCookie(next));
      },
    };
    try {
      return await route.run(ctx);
    } finally {
      // The notice a form left for the next page, or the one this page showed (and cleared).
      deps.sessions.save(session);
    }
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    deps.stats.inc('requests');
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    busy++;
    let counted = true;
    const done = (): void => {
      if (!counted) return;
      counted = false;
      if (--busy === 0) idle?.();
    };
    res.once('close', done);
    void answer(req, res)
      .catch((error: unknown) => {
        if (error instanceof HttpError) return text(error.status, `${error.message}\n`);
        deps.log.error({ err: error, method: req.method, path: req.url }, 'request failed');
        if (isDiskFull(error) || isAccountsError(error, 'STORAGE_FULL')) {
          return errorPage(507, 'Disk full', "The disk of Hearth's data directory is full, so this could not be stored. Free some space and try again.");
        }
        return errorPage(500, 'Something went wrong', 'The request failed; the log has the details.');
      })
      .then((reply) => {
        if (reply.kind === 'events') done();
        return res.headersSent ? undefined : sendReply(res, reply, req.method === 'HEAD');
      })
      .catch((error: unknown) => {
        deps.log.debug({ err: error }, 'response not completed');
        res.destroy();
      });
  }

  return {
    httpsServer(tls) {
      const server = createServer({ ...tls, maxHeaderSize: 16 * 1024, headersTimeout: 20_000, requestTimeout: 60_000 }, handle);
      server.keepAliveTimeout = 5000;
      answerPlainHttp(server, { firstBytesTimeoutMs: () => server.headersTimeout });
      // A client that half-closes after its request gets its answer, then the close.
      answerHalfClosed(server);
      server.on('error', (err) => deps.log.error({ err }, 'listener failed'));
      server.on('tlsClientError', (err) => deps.log.debug({ err: err.message }, 'TLS handshake failed'));
      servers.push(server);
      return server;
    },
    async stop(deadline) {
      for (const s of servers) {
        s.close();
        s.closeIdleConnections();
      }
      // Requests under way get until the deadline; live streams are closed with what is left.
      if (busy > 0) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          idle = resolve;
          timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        });
        clearTimeout(timer);
      }
      for (const s of servers) s.closeAllConnections();
    },
  };
}
