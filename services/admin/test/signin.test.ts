/**
 * Sign-in, sessions and the setup link over real HTTPS against `hearth up`: the one-time link,
 * cookie flags, a new session id at sign-in, CSRF refusals, idle expiry, sign-out, throttling,
 * and the security headers of every answer.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProgramOk, waitFor } from '@hearth/testkit';
import { MAIN, stopAll } from '@hearth/testkit/hearth-up';
import { startAdmin, textOf, type AdminUp } from './helpers.js';

const COOKIE = '__Host-hearth-admin';
let a: AdminUp;

beforeAll(async () => {
  a = await startAdmin('{ loginFailureDelay: 10ms, maxLoginFailuresPerUser: 3, sessionIdle: 1500ms }');
});
afterAll(stopAll);

describe('the setup link', () => {
  it('is logged, works once, and makes a signed-in administrator', async () => {
    const token = readFileSync(join(a.up.data, 'admin', 'setup-token'), 'utf8').trim();
    // The line comes through the service's output, the running state through its IPC channel: either may be first.
    const logged = await waitFor(() => a.up.lines.find((l) => typeof l['url'] === 'string' && (l['url'] as string).includes(token)), { what: 'the setup link logged' });
    expect(logged['msg']).toBe('no administrator can sign in: open this one-time link to create one');
    expect((await a.client().get('/setup?token=wrong')).status).toBe(404);
    const c = a.client();
    const form = await c.get(`/setup?token=${token}`);
    expect(form.status).toBe(200);
    const done = await c.submit('/setup', { token, name: 'root', password: 'root-password-1', confirm: 'root-password-1' }, form);
    expect(done.status).toBe(200);
    expect(done.body).toContain('<h1>Dashboard</h1>');
    expect(existsSync(join(a.up.data, 'admin', 'setup-token'))).toBe(false);
    // The same link again, from another browser: closed.
    const other = a.client();
    expect((await other.get(`/setup?token=${token}`)).status).toBe(404);
    const again = await other.post('/setup', { token, name: 'mallory', password: 'mallory-pass-1', confirm: 'mallory-pass-1' }, await other.get('/sign-in'));
    expect(again.status).toBe(404);
    const users = await a.up.cli('user', 'list');
    expect(users.stdout).toMatch(/^root .* yes /m);
    expect(users.stdout).not.toContain('mallory');
  });
});

/** The setup link the service logged with `token` (the line comes through the service's output). */
function loggedLink(b: AdminUp, token: string): Promise<Record<string, unknown>> {
  return waitFor(() => b.up.lines.find((l) => typeof l['url'] === 'string' && (l['url'] as string).includes(token)), { what: 'the setup link logged' });
}

describe('the setup link, once an administrator is made another way', () => {
  it('closes when `hearth user admin` makes one while the service runs, and opens with a new token when `admin --off` leaves none', async () => {
    const b = await startAdmin();
    const tokenFile = join(b.up.data, 'admin', 'setup-token');
    const token = readFileSync(tokenFile, 'utf8').trim();
    const c = b.client();
    expect(textOf((await c.get('/sign-in')).body)).toContain('No administrator can sign in: open the one-time setup link');
    expect((await c.get(`/setup?token=${token}`)).status).toBe(200);
    await runProgramOk(process.execPath, [MAIN, 'user', 'add', 'alice', '--password-stdin', '--data', b.up.data], { input: 'alice-password-1\n' });
    await runProgramOk(process.execPath, [MAIN, 'user', 'admin', 'alice', '--data', b.up.data]);
    const signIn = await c.get('/sign-in');
    expect(signIn.status).toBe(200);
    expect(textOf(signIn.body)).not.toContain('No administrator can sign in');
    const setup = await c.get(`/setup?token=${token}`);
    expect(setup.status).toBe(404);
    expect(textOf(setup.body)).toContain('This setup link has been used, or an administrator already exists.');
    expect(existsSync(tokenFile)).toBe(false);
    // The flag removed again: no one can sign in, and the next look opens a new token, written and logged as at start.
    await runProgramOk(process.execPath, [MAIN, 'user', 'admin', 'alice', '--off', '--data', b.up.data]);
    expect(textOf((await c.get('/sign-in')).body)).toContain('No administrator can sign in: open the one-time setup link');
    const reopened = readFileSync(tokenFile, 'utf8').trim();
    expect(reopened).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(reopened).not.toBe(token);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect((await loggedLink(b, reopened))['msg']).toBe('no administrator can sign in: open this one-time link to create one');
    // The old link stays used; the new one makes an administrator and closes.
    expect((await c.get(`/setup?token=${token}`)).status).toBe(404);
    const form = await c.get(`/setup?token=${reopened}`);
    expect(form.status).toBe(200);
    const done = await c.submit('/setup', { token: reopened, name: 'dora', password: 'dora-password-1', confirm: 'dora-password-1' }, form);
    expect(done.body).toContain('<h1>Dashboard</h1>');
    expect(existsSync(tokenFile)).toBe(false);
    expect((await b.client().get(`/setup?token=${reopened}`)).status).toBe(404);
    expect(textOf((await b.client().get('/sign-in')).body)).not.toContain('No administrator can sign in');
  });
});

describe('the setup link, once no administrator can sign in', () => {
  it('opens while the service runs when `hearth user del` leaves only disabled administrators, and keeps its token across a restart', async () => {
    const b = await startAdmin();
    const tokenFile = join(b.up.data, 'admin', 'setup-token');
    const first = readFileSync(tokenFile, 'utf8').trim();
    const cli = (...args: string[]): ReturnType<typeof runProgramOk> => runProgramOk(process.execPath, [MAIN, 'user', ...args, '--data', b.up.data], { input: 'a-password-12\n' });
    for (const name of ['alice', 'bob']) {
      await cli('add', name, '--password-stdin');
      await cli('admin', name);
    }
    await cli('disable', 'bob', '--reason', 'on leave');
    // alice can sign in: the link closes.
    expect(textOf((await b.client().get('/sign-in')).body)).not.toContain('No administrator can sign in');
    expect(existsSync(tokenFile)).toBe(false);
    // The last administrator that could sign in deleted: bob is one, but disabled.
    await cli('del', 'alice');
    const c = b.client();
    expect(textOf((await c.get('/sign-in')).body)).toContain('No administrator can sign in: open the one-time setup link');
    const token = readFileSync(tokenFile, 'utf8').trim();
    expect(token).not.toBe(first);
    expect((await loggedLink(b, token))['msg']).toBe('no administrator can sign in: open this one-time link to create one');
    // Kept across a restart of the service until used.
    expect((await b.up.cli('restart', 'admin')).code).toBe(0);
    expect(readFileSync(tokenFile, 'utf8').trim()).toBe(token);
    const form = await c.get(`/setup?token=${token}`);
    expect(form.status).toBe(200);
    const done = await c.submit('/setup', { token, name: 'carol', password: 'carol-password-1', confirm: 'carol-password-1' }, form);
    expect(done.body).toContain('<h1>Dashboard</h1>');
  });
});

describe('sessions', () => {
  it('sets HttpOnly, Secure, SameSite=Strict cookies and a new session id at sign-in', async () => {
    const c = a.client();
    await c.get('/sign-in');
    const before = c.cookies.get(COOKIE);
    expect(before).toBeDefined();
    const home = await c.signIn('root', 'root-password-1');
    expect(home.body).toContain('<h1>Dashboard</h1>');
    const after = c.cookies.get(COOKIE);
    expect(after).not.toBe(before);
    for (const header of c.setCookies) {
      expect(header).toMatch(/; Secure/);
      expect(header).toMatch(/; HttpOnly/);
      expect(header).toMatch(/; SameSite=Strict/);
      expect(header).toMatch(/; Path=\//);
    }
    // The pre-sign-in id (fixed by an attacker, say) gives nothing.
    const attacker = a.client();
    attacker.cookies.set(COOKIE, before!);
    const r = await attacker.get('/');
    expect(r.status).toBe(303);
    expect(r.headers['location']).toBe('/sign-in');
  });

  it('refuses a POST without the CSRF token, or with another session\'s', async () => {
    const c = a.client();
    const home = await c.signIn('root', 'root-password-1');
    const none = await c.post('/reload', {});
    expect(none.status).toBe(403);
    expect(textOf(none.body)).toContain('Form refused');
    const other = await a.client().get('/sign-in');
    const wrong = await c.post('/reload', {}, other);
    expect(wrong.status).toBe(403);
    const signIn = a.client();
    const bare = await signIn.post('/sign-in', { name: 'root', password: 'root-password-1' });
    expect(bare.status).toBe(403);
    expect(signIn.cookies.has(COOKIE)).toBe(true);
    expect((await signIn.get('/')).status).toBe(303);
    // With the right token the same form works.
    expect((await c.post('/reload', {}, home)).status).toBe(303);
  });

  it('ends a session after the idle time, and at sign-out; the sessions gauge follows with no request', async () => {
    const sessionsGauge = async (): Promise<number | undefined> => (await a.up.service('admin')).counters?.find((c) => c.name === 'sessions')?.value;
    const c = a.client();
    const home = await c.signIn('root', 'root-password-1');
    expect(home.body).toContain('Dashboard');
    // Counted while in use: each look is also a request of this session's, which keeps it alive.
    await waitFor(async () => (await c.get('/')).status === 200 && ((await sessionsGauge()) ?? 0) >= 1, { timeout: 5000, what: 'the signed-in session counted' });
    const start = Date.now();
    // The behaviour under test is a time window: nobody asks anything for longer than sessionIdle.
    await new Promise((r) => setTimeout(r, 1700));
    expect(Date.now() - start).toBeGreaterThan(1500);
    await waitFor(async () => (await sessionsGauge()) === 0, { timeout: 5000, what: 'the sessions gauge at 0 once every session is idle too long' });
    const r = await c.get('/');
    expect(r.status).toBe(303);
    expect(r.headers['location']).toBe('/sign-in');
    const again = await c.signIn('root', 'root-password-1');
    const out = await c.submit('/sign-out', {}, again);
    expect(out.body).toContain('<h1>Sign in</h1>');
    expect((await c.get('/')).status).toBe(303);
  });
});

describe('sessions and the account behind them', () => {
  const hearth = (input: string | undefined, ...args: string[]) =>
    runProgramOk(process.execPath, [MAIN, 'user', ...args, '--data', a.up.data], input === undefined ? {} : { input });

  it('end when `hearth user passwd` changes the password, or the account is deleted and made again', async () => {
    await hearth('carol-password-1\n', 'add', 'carol', '--password-stdin');
    const stolen = a.client();
    expect((await stolen.signIn('carol', 'carol-password-1')).body).toContain('<h1>My account</h1>');
    await hearth('carol-password-2\n', 'passwd', 'carol', '--password-stdin');
    const after = await stolen.get('/me');
    expect(after.status).toBe(303);
    expect(after.headers['location']).toBe('/sign-in');

    // The old password's session stays out; one signed in now works until the account is deleted,
    // and does not come back for another account made under the same name.
    const c = a.client();
    expect((await c.signIn('carol', 'carol-password-2')).body).toContain('<h1>My account</h1>');
    await hearth(undefined, 'del', 'carol');
    expect((await c.get('/me')).status).toBe(303);
    await hearth('new-carol-password\n', 'add', 'carol', '--password-stdin');
    for (const old of [stolen, c]) {
      const again = await old.get('/me');
      expect(again.status).toBe(303);
      expect(again.headers['location']).toBe('/sign-in');
    }
    expect((await a.client().signIn('carol', 'new-carol-password')).body).toContain('<h1>My account</h1>');
  });
});

describe('sign-in', () => {
  it('throttles failed sign-ins per user through the suite\'s login policy', async () => {
    const c = a.client();
    for (let i = 0; i < 3; i++) {
      const form = await c.get('/sign-in');
      const r = await c.post('/sign-in', { name: 'root2', password: `wrong-${i}` }, form);
      expect(r.status).toBe(401);
      expect(textOf(r.body)).toContain('Wrong user name or password');
    }
    const form = await c.get('/sign-in');
    const refused = await c.post('/sign-in', { name: 'root2', password: 'whatever' }, form);
    expect(refused.status).toBe(401);
    expect(textOf(refused.body)).toContain('Too many failed sign-ins');
  });

  const hearth = (input: string, ...args: string[]) => runProgramOk(process.execPath, [MAIN, 'user', ...args, '--data', a.up.data], { input });

  it('takes the user\'s address in a mail domain (localhost here) as POP3 and SMTP do; an address elsewhere is refused', async () => {
    await hearth('dave-password-1\n', 'add', 'dave', '--password-stdin');
    for (const name of ['dave@localhost', 'Dave@LocalHost']) {
      const me = await a.client().signIn(name, 'dave-password-1');
      expect(me.status, name).toBe(200);
      expect(textOf(me.body)).toContain('My account');
      expect(textOf(me.body)).toContain('dave');
    }
    const elsewhere = await a.client().signIn('dave@other.example', 'dave-password-1');
    expect(elsewhere.status).toBe(401);
    expect(textOf(elsewhere.body)).toContain('Wrong user name or password');
  });

  it('counts the failures of the name and of the address as one user\'s', async () => {
    await hearth('erin-password-1\n', 'add', 'erin', '--password-stdin');
    const c = a.client();
    for (const [i, name] of ['erin@localhost', 'erin', 'ERIN@localhost'].entries()) {
      const r = await c.signIn(name, `wrong-${i}`);
      expect(r.status).toBe(401);
      expect(textOf(r.body)).toContain('Wrong user name or password');
    }
    const refused = await c.signIn('erin', 'erin-password-1');
    expect(refused.status).toBe(401);
    expect(textOf(refused.body)).toContain('Too many failed sign-ins');
  });
});

describe('headers', () => {
  it('sends the strict security headers on pages, redirects, errors and static files', async () => {
    const c = a.client();
    for (const path of ['/sign-in', '/', '/nowhere', '/static/admin.css', '/static/live.js']) {
      const r = await c.get(path);
      const csp = String(r.headers['content-security-policy']);
      expect(csp, path).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
      expect(r.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    }
    const page = await c.get('/sign-in');
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page.body).not.toMatch(/ on[a-z]+=/);
  });
});

describe('plain HTTP', () => {
  it('sent to the HTTPS port, is answered 400 with the https URL, as nginx and Apache answer it', async () => {
    const { stdout } = await promisify(execFile)('curl', ['-sS', '-i', '--max-time', '10', `http://localhost:${a.port}/users`]);
    expect(stdout).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(stdout).toContain(`use https://localhost:${a.port}/users\n`);
  });
});
