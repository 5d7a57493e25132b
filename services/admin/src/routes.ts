/**
 * The route table: every URL the service answers, with its method and who may use it. The server
 * (`server.ts`) finds the route, checks access (and the CSRF token of every POST) before `run`;
 * a path in no route is 404, a known path with another method 405.
 */
import type { RequestContext } from './context.js';
import type { Reply } from './reply.js';
import { dashboardRoutes } from './pages/dashboard.js';
import { logRoutes } from './pages/logs.js';
import { meRoutes } from './pages/me.js';
import { shareRoutes } from './pages/shares.js';
import { signInRoutes } from './pages/sign-in.js';
import { userRoutes } from './pages/users.js';

export type Method = 'GET' | 'POST';

/** `public`: anyone (sign-in, setup, `/metrics` with its own check); `signed-in`: any account; `admin`: administrators. */
export type Access = 'public' | 'signed-in' | 'admin';

export interface Route {
  readonly method: Method;
  /** The exact path (no parameters in paths: they travel as query or form fields). */
  readonly path: string;
  readonly access: Access;
  /**
   * `none`: the request neither reads nor sets the session cookie and gets a fresh anonymous
   * session that is not kept (machine clients such as a scraper; `public` GET routes only).
   * Default `cookie`.
   */
  readonly session?: 'cookie' | 'none';
  run(ctx: RequestContext): Promise<Reply> | Reply;
}

/** Every route of the service. */
export function routeTable(): readonly Route[] {
  return [...signInRoutes, ...dashboardRoutes, ...userRoutes, ...shareRoutes, ...logRoutes, ...meRoutes];
}

export type Lookup = { readonly kind: 'found'; readonly route: Route } | { readonly kind: 'wrong-method'; readonly allow: string } | { readonly kind: 'none' };

export class Router {
  readonly #byPath = new Map<string, Map<Method, Route>>();

  constructor(routes: readonly Route[]) {
    for (const route of routes) {
      let methods = this.#byPath.get(route.path);
      if (!methods) this.#byPath.set(route.path, (methods = new Map()));
      if (methods.has(route.method)) throw new Error(`two routes for ${route.method} ${route.path}`);
      if (route.session === 'none' && (route.access !== 'public' || route.method !== 'GET')) {
        throw new Error(`${route.method} ${route.path}: a route without a session must be a public GET`);
      }
      methods.set(route.method, route);
    }
  }

  find(method: string, path: string): Lookup {
    const methods = this.#byPath.get(path);
    if (!methods) return { kind: 'none' };
    const want = method === 'HEAD' ? 'GET' : method;
    const route = methods.get(want as Method);
    return route ? { kind: 'found', route } : { kind: 'wrong-method', allow: [...methods.keys()].join(', ') };
  }
}
