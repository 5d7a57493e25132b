/**
 * The admin page under a real `hearth up` (the test kit's harness), and a small HTTPS client that
 * keeps cookies like a browser: requests go over TLS to the admin listener on loopback, trusting
 * the suite's own certificate (DATA/tls/self-signed/cert.pem) for the name localhost, with the
 * Host header a browser at https://localhost:PORT sends.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { startUp, waitState, type Up } from '@hearth/testkit/hearth-up';
import { waitFor, type TempDir } from '@hearth/testkit';

export interface Response {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export interface ServerEvent {
  readonly event: string;
  readonly data: string;
}

export class Client {
  readonly cookies = new Map<string, string>();
  /** The raw Set-Cookie headers seen, newest last. */
  readonly setCookies: string[] = [];

  constructor(
    readonly port: number,
    readonly ca: Buffer,
  ) {}

  request(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Response> {
    return new Promise((resolve, reject) => {
      const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
      const req = request(
        {
          host: '127.0.0.1',
          servername: 'localhost',
          port: this.port,
          method,
          path,
          ca: this.ca,
          headers: {
            // As a browser that opened https://localhost:PORT sends it (a test may give another).
            Host: `localhost:${this.port}`,
            ...(cookie ? { Cookie: cookie } : {}),
            ...(body !== undefined ? { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': String(Buffer.byteLength(body)) } : {}),
            ...headers,
          },
        },
        (res) => {
          for (const c of res.headers['set-cookie'] ?? []) {
            this.setCookies.push(c);
            const [pair] = c.split(';');
            const eq = pair!.indexOf('=');
            this.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
          }
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (data += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /**
   * Reads a Server-Sent Events stream until `until(events)` is true, then closes it. Events are
   * `{ event, data }` as the browser's EventSource would deliver them.
   */
  events(path: string, until: (events: readonly ServerEvent[]) => boolean): Promise<{ status: number; headers: Response['headers']; events: ServerEvent[] }> {
    return new Promise((resolve, reject) => {
      const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
      const req = request({ host: '127.0.0.1', servername: 'localhost', port: this.port, path, ca: this.ca, headers: { Host: `localhost:${this.port}`, Cookie: cookie, Accept: 'text/event-stream' } }, (res) => {
        const events: ServerEvent[] = [];
        let buf = '';
        const finish = (): void => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, events });
        };
        if (res.statusCode !== 200) {
          res.resume();
          finish();
          return;
        }
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          let end: number;
          while ((end = buf.indexOf('\n\n')) !== -1) {
            const block = buf.slice(0, end);
            buf = buf.slice(end + 2);
            const lines = block.split('\n');
            const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
            const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
            events.push({ event, data });
          }
          if (until(events)) finish();
        });
        res.on('error', () => undefined);
      });
      req.on('error', reject);
      req.end();
    });
  }

  get(path: string): Promise<Response> {
    return this.request('GET', path);
  }

  /** Posts a form; `csrf` is taken from `from` (a page) unless the fields name one. */
  post(path: string, fields: Record<string, string>, from?: Response): Promise<Response> {
    const all = { ...(from ? { csrf: csrfOf(from.body) } : {}), ...fields };
    return this.request('POST', path, new URLSearchParams(all).toString());
  }

  /** Posts, then follows the 303 like a browser. */
  async submit(path: string, fields: Record<string, string>, from: Response): Promise<Response> {
    const r = await this.post(path, fields, from);
    if (r.status !== 303) return r;
    return this.get(String(r.headers['location']));
  }

  /** Signs in (GET the form, POST it); returns the page the redirect leads to. */
  async signIn(name: string, password: string): Promise<Response> {
    const form = await this.get('/sign-in');
    return this.submit('/sign-in', { name, password }, form);
  }
}

export function csrfOf(page: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(page);
  if (!m) throw new Error(`no CSRF field in the page: ${page.slice(0, 300)}`);
  return m[1]!;
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };

/** The text of a page as a reader sees it: no tags, entities decoded, spaces collapsed. */
export const textOf = (page: string): string =>
  page
    .replace(/<[^>]+>/g, ' ')
    .replace(/&(amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e]!)
    .replace(/\s+/g, ' ');

export interface AdminUp {
  readonly up: Up;
  readonly port: number;
  readonly ca: Buffer;
  client(): Client;
}

/**
 * `hearth up` with the admin service on an ephemeral port (plus `extra` services), admin running;
 * its config and data dir in `dir` when given (removed as it stops); `adminKeys`: more keys of
 * the admin service (YAML lines indented by four spaces, e.g. its `requires:`).
 */
export async function startAdmin(settings = '{ loginFailureDelay: 10ms }', extra = '', dir?: TempDir, adminKeys = ''): Promise<AdminUp> {
  const up = await startUp(
    `services:
  admin:
    service: admin
    listen: { https: { port: 0, tls: true } }
    settings: ${settings}
${adminKeys}${extra}`,
    dir === undefined ? {} : { dir },
  );
  const s = await waitState(up, 'admin', 'running', 20_000);
  const port = s.listeners[0]!.port;
  const ca = readFileSync(join(up.data, 'tls', 'self-signed', 'cert.pem'));
  return { up, port, ca, client: () => new Client(port, ca) };
}

/** Creates the first administrator through the setup link the service wrote; returns the signed-in client. */
export async function setupAdmin(a: AdminUp, name = 'root', password = 'root-password-1'): Promise<Client> {
  const token = await waitFor(() => {
    try {
      return readFileSync(join(a.up.data, 'admin', 'setup-token'), 'utf8').trim();
    } catch {
      return undefined;
    }
  });
  const c = a.client();
  const form = await c.get(`/setup?token=${token}`);
  const done = await c.submit('/setup', { token, name, password, confirm: password }, form);
  if (done.status !== 200 || !done.body.includes('Dashboard')) throw new Error(`setup failed: ${done.status} ${textOf(done.body).slice(0, 300)}`);
  return c;
}
