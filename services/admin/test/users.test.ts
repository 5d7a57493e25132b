/**
 * The users page over HTTPS against `hearth up` (with pop3 and files): add a user, set its groups
 * (a share's @group then lets it in over WebDAV), reset its
 * password and sign in with the new one, APOP on (a secret the page makes, shown once, logging in
 * over APOP; no typed secret taken) and off, the administrator flag, delete refused
 * while the home folder holds files without "also delete" and while a POP3 session holds the
 * maildrop (the store's words shown), then allowed, a user made again under the name finding an
 * empty home folder; a user disabled on the page or by `hearth user disable` (sessions ended,
 * logins refused) and enabled again; hostile names come back escaped.
 */
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERATED_APOP_SECRET } from '@hearth/accounts';
import { runTranscript, waitFor } from '@hearth/testkit';
import { stopAll, waitState } from '@hearth/testkit/hearth-up';
import { setupAdmin, startAdmin, textOf, type AdminUp, type Client } from './helpers.js';

/** The folder of the share `team`, readable by the group `staff` only. */
const TEAM = mkdtempSync(join(tmpdir(), 'admin-users-team-'));
const EXTRA = `  pop3:
    service: pop3
    listen: { pop3: { port: 0 }, pop3s: { port: 0, tls: true } }
    settings: { exclusiveLock: true, loginFailureDelay: 10ms }
  files:
    service: files
    listen: { http: { port: 0 }, https: { port: 0, tls: true } }
    settings: { home: { quota: 1MB }, shares: { team: { path: ${JSON.stringify(TEAM)}, read: ['@staff'] } } }
`;
let a: AdminUp;
let c: Client;

beforeAll(async () => {
  a = await startAdmin('{ loginFailureDelay: 10ms }', EXTRA);
  await waitState(a.up, 'pop3', 'running');
  await waitState(a.up, 'files', 'running');
  c = await setupAdmin(a);
});
afterAll(async () => {
  await stopAll();
  rmSync(TEAM, { recursive: true, force: true });
});

const rowOf = (page: string, name: string): string => {
  const m = new RegExp(`<tr data-user="${name}">([\\s\\S]*?)</tr>`).exec(page);
  if (!m) throw new Error(`no row for ${name}`);
  return m[1]!;
};

/** A WebDAV request with Basic credentials, over plain HTTP on loopback, on a connection of its own: its status and body. */
async function dav(method: string, path: string, auth: string, depth = '0'): Promise<{ status: number; body: string }> {
  const port = (await a.up.service('files')).listeners.find((l) => l.name === 'http')!.port;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, auth, agent: false, headers: { Depth: depth } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The status of a WebDAV PROPFIND of `path` (depth 0). */
const davStatus = async (path: string, auth: string): Promise<number> => (await dav('PROPFIND', path, auth)).status;

/** A service's counters as `hearth status` shows them: name to value. */
async function countersOf(service: string): Promise<Record<string, number>> {
  return Object.fromEntries(((await a.up.service(service)).counters ?? []).map((c) => [c.name, c.value]));
}

/**
 * Requests that count one counter each and nothing this file checks: a form posted to the admin
 * service without its CSRF token (refused), an OPTIONS request to the file service. No other
 * step of this file makes them.
 */
const markers = {
  admin: { counter: 'csrfRefused', send: async () => expect((await a.client().post('/sign-in', { name: 'nobody', password: 'x' })).status).toBe(403) },
  files: { counter: 'requestsOptions', send: async () => expect((await dav('OPTIONS', '/', '')).status).toBe(200) },
} as const;

/**
 * A service's counters once `hearth status` holds every increment made before this call. A service
 * reports them at most once a second, so what the supervisor shows can miss the last ones: this
 * sends the service's marker request and waits for a report that counts it, which carries every
 * increment made before it. Nothing may count the marker's counter but this function (each call
 * waits for its own), so the value read before it is exact.
 */
async function settledCounters(service: keyof typeof markers): Promise<Record<string, number>> {
  const { counter, send } = markers[service];
  const was = (await countersOf(service))[counter] ?? 0;
  await send();
  return waitFor(async () => {
    const now = await countersOf(service);
    return (now[counter] ?? 0) > was ? now : undefined;
  }, { what: `the ${service} service's report counting the ${counter} marker` });
}

async function pop3Login(user: string, password: string): Promise<Socket> {
  const port = (await a.up.service('pop3')).listeners.find((l) => l.name === 'pop3')!.port;
  const socket = connect(port, '127.0.0.1');
  await runTranscript(socket, [
    [null, /^\+OK/],
    [`USER ${user}`, /^\+OK/],
    [`PASS ${password}`, /^\+OK/],
  ]);
  return socket;
}

/** The secret on the answer page of turning APOP on. */
function secretOf(page: string): string {
  const m = /<code id="apop-secret">([^<]+)<\/code>/.exec(page);
  if (!m) throw new Error(`no APOP secret in the page: ${textOf(page).slice(0, 300)}`);
  return m[1]!;
}

/** Sends APOP with the digest of the greeting's timestamp and `secret`; the reply line after the greeting. */
async function apop(user: string, secret: string): Promise<{ socket: Socket; reply: string }> {
  const port = (await a.up.service('pop3')).listeners.find((l) => l.name === 'pop3')!.port;
  const socket = connect(port, '127.0.0.1');
  const [greeting] = await runTranscript(socket, [[null, /^\+OK.*<[^>]+>/]]);
  const timestamp = /<[^>]+>/.exec(greeting!)![0];
  const digest = createHash('md5').update(timestamp + secret).digest('hex');
  const [reply] = await runTranscript(socket, [[`APOP ${user} ${digest}`, /^[+-].*\r\n/m]]);
  return { socket, reply: reply! };
}

async function apopLogin(user: string, secret: string): Promise<Socket> {
  const { socket, reply } = await apop(user, secret);
  expect(reply).toMatch(/^\+OK/);
  return socket;
}

async function apopRefused(user: string, secret: string): Promise<void> {
  const { socket, reply } = await apop(user, secret);
  socket.destroy();
  expect(reply).toMatch(/^-ERR/);
}

describe('users', () => {
  it('adds a user: listed with its maildrop and its home folder against the quota', async () => {
    const added = await c.submit('/users/add', { name: 'Bob', password: 'bob-password-1' }, await c.get('/users'));
    expect(textOf(added.body)).toContain('Added user bob.');
    mkdirSync(join(a.up.data, 'files', 'home', 'bob'), { recursive: true });
    writeFileSync(join(a.up.data, 'files', 'home', 'bob', 'notes.txt'), 'x'.repeat(2048));
    const row = rowOf((await c.get('/users')).body, 'bob');
    expect(row).toContain('0 messages, 0 B');
    expect(row).toContain('2.0 KiB of 976.6 KiB');
    expect(row).toContain('<td>off</td><td>no</td>');
    expect((await a.up.cli('user', 'list')).stdout).toMatch(/^bob /m);
    const again = await c.submit('/users/add', { name: 'bob', password: 'other-password' }, added);
    expect(textOf(again.body)).toContain('Refused: user bob already exists.');
  });

  it("sets a user's groups, which a share's @group then lets in; a bad name is refused, empty clears them", async () => {
    expect(await davStatus('/team/', 'bob:bob-password-1')).toBe(403);
    const set = await c.submit('/users/groups', { name: 'bob', groups: 'Staff, photos' }, await c.get('/users'));
    expect(textOf(set.body)).toContain('bob is in photos, staff.');
    expect(rowOf(set.body, 'bob')).toContain('<td>photos, staff</td>');
    expect(rowOf(set.body, 'bob')).toContain('value="photos, staff"');
    expect((await a.up.cli('user', 'groups', 'bob')).stdout).toBe('photos,staff\n');
    expect(await davStatus('/team/', 'bob:bob-password-1')).toBe(207);
    const bad = await c.submit('/users/groups', { name: 'bob', groups: 'staff, no good' }, set);
    expect(textOf(bad.body)).toContain('Refused: invalid group name "no good"');
    expect(rowOf(bad.body, 'bob')).toContain('<td>photos, staff</td>');
    const cleared = await c.submit('/users/groups', { name: 'bob', groups: '' }, bad);
    expect(textOf(cleared.body)).toContain('bob is in no group.');
    expect(await davStatus('/team/', 'bob:bob-password-1')).toBe(403);
    const nobody = await c.submit('/users/groups', { name: 'nobody', groups: 'staff' }, cleared);
    expect(textOf(nobody.body)).toContain('Refused: no such user: nobody.');
  });

  it('resets a password: the user signs in with the new one, not the old', async () => {
    const page = await c.submit('/users/password', { name: 'bob', password: 'bob-password-2' }, await c.get('/users'));
    expect(textOf(page.body)).toContain('Changed the password of bob.');
    const bob = a.client();
    const form = await bob.get('/sign-in');
    expect((await bob.post('/sign-in', { name: 'bob', password: 'bob-password-1' }, form)).status).toBe(401);
    const ok = await bob.post('/sign-in', { name: 'bob', password: 'bob-password-2' }, await bob.get('/sign-in'));
    expect(ok.status).toBe(303);
    expect(ok.headers['location']).toBe('/me');
    // Not an administrator: the admin pages are closed to bob.
    expect((await bob.get('/users')).status).toBe(403);
    const socket = await pop3Login('bob', 'bob-password-2');
    socket.destroy();
  });

  it('turns APOP on with a secret it makes and shows once, which logs in over APOP; takes no typed secret; turns it off', async () => {
    const before = await c.get('/users');
    const manage = rowOf(before.body, 'bob');
    // No field for a secret: the button makes one.
    expect(manage).not.toContain('name="secret"');
    expect(textOf(manage)).toContain('Turn APOP on for bob (a secret is made for it and shown once)');

    const on = await c.post('/users/apop', { name: 'bob' }, before);
    // The answer itself, not a redirect to a page that would have to keep the secret somewhere.
    expect(on.status).toBe(200);
    expect(on.headers['cache-control']).toBe('no-store');
    const secret = secretOf(on.body);
    expect(secret).toMatch(GENERATED_APOP_SECRET);
    expect(textOf(on.body)).toContain(`APOP is on for bob The APOP secret of bob: ${secret} Enter it, hyphens included, as the POP3 password of bob in a mail client set to use APOP.`);
    expect(textOf(on.body)).toContain('This page shows it once: it is not shown again.');
    (await apopLogin('bob', secret)).destroy();
    // USER/PASS still takes the password, not the secret.
    (await pop3Login('bob', 'bob-password-2')).destroy();

    // Shown once: the list says APOP is on, and nothing shows the secret again.
    const list = await c.get('/users');
    expect(rowOf(list.body, 'bob')).toContain('<td>on</td>');
    expect(list.body).not.toContain(secret);
    expect(textOf(rowOf(list.body, 'bob'))).toContain('APOP is on. Turn APOP off Make a new APOP secret (the old one stops working)');

    // A typed secret is refused in the same words whatever it is, the password too: no oracle.
    const same = await c.submit('/users/apop', { name: 'bob', secret: 'bob-password-2' }, list);
    const other = await c.submit('/users/apop', { name: 'bob', secret: 'not-the-password' }, same);
    for (const answer of [same, other]) {
      expect(textOf(answer.body)).toContain('Refused: the page makes APOP secrets itself and takes no typed one.');
    }
    expect(textOf(same.body)).toBe(textOf(other.body));
    (await apopLogin('bob', secret)).destroy();

    // A new secret replaces the old one.
    const again = await c.post('/users/apop', { name: 'bob' }, other);
    const renewed = secretOf(again.body);
    expect(renewed).not.toBe(secret);
    await apopRefused('bob', secret);
    (await apopLogin('bob', renewed)).destroy();

    const off = await c.submit('/users/apop', { name: 'bob', clear: '1' }, again);
    expect(textOf(off.body)).toContain('APOP is off for bob.');
    expect(rowOf(off.body, 'bob')).toContain('<td>off</td>');
    await apopRefused('bob', renewed);
    const nobody = await c.submit('/users/apop', { name: 'nobody' }, off);
    expect(textOf(nobody.body)).toContain('Refused: no such user: nobody.');
    // Never logged: no line of any service holds either secret.
    expect(a.up.lines.filter((line) => JSON.stringify(line).includes(secret) || JSON.stringify(line).includes(renewed))).toEqual([]);
  });

  it('sets and clears the administrator flag, but not on oneself', async () => {
    const on = await c.submit('/users/admin', { name: 'bob', admin: 'on' }, await c.get('/users'));
    expect(rowOf(on.body, 'bob')).toContain('<td>yes</td>');
    const off = await c.submit('/users/admin', { name: 'bob', admin: 'off' }, on);
    expect(textOf(off.body)).toContain('bob is no longer an administrator.');
    const self = await c.submit('/users/admin', { name: 'root', admin: 'off' }, off);
    expect(textOf(self.body)).toContain('Refused: you cannot remove your own administrator flag');
    expect(rowOf(self.body, 'root')).toContain('<td>yes</td>');
  });

  it('refuses to delete a user whose home holds files without "also delete", or whose maildrop a POP3 session holds; then deletes it with its files', async () => {
    const home = join(a.up.data, 'files', 'home', 'bob');
    expect(await dav('GET', '/home/notes.txt', 'bob:bob-password-2')).toEqual({ status: 200, body: 'x'.repeat(2048) });
    const page = await c.get('/users');
    expect(textOf(rowOf(page.body, 'bob'))).toContain('also delete the files in its home folder');
    const kept = await c.submit('/users/delete', { name: 'bob' }, page);
    expect(textOf(kept.body)).toContain(`Refused: the home folder of bob (${home}) holds files: purge them to delete the user.`);
    const session = await pop3Login('bob', 'bob-password-2');
    const refused = await c.submit('/users/delete', { name: 'bob', purge: '1' }, kept);
    const status = await a.up.service('pop3');
    expect(textOf(refused.body)).toMatch(/Refused: the maildrop of bob is in use by a POP3 session \(pid \d+\)\./);
    expect(status.state).toBe('running');
    // Refused either way: nothing was deleted.
    expect(rowOf(refused.body, 'bob')).toBeTruthy();
    expect(readdirSync(home)).toEqual(['notes.txt']);
    await runTranscript(session, [['QUIT', /^\+OK/]]);
    session.destroy();
    const deleted = await c.submit('/users/delete', { name: 'bob', purge: '1' }, refused);
    expect(textOf(deleted.body)).toContain('Deleted user bob and its files.');
    expect(deleted.body).not.toContain('data-user="bob"');
    expect(existsSync(home)).toBe(false);
    expect((await a.up.cli('user', 'list')).stdout).not.toMatch(/^bob /m);
    // A user made again under the name finds an empty home folder, not the old one's file.
    const again = await c.submit('/users/add', { name: 'bob', password: 'bob-password-3' }, deleted);
    expect(textOf(again.body)).toContain('Added user bob.');
    expect(textOf(rowOf(again.body, 'bob'))).not.toContain('also delete');
    const listing = await dav('PROPFIND', '/home/', 'bob:bob-password-3', '1');
    expect(listing.status).toBe(207);
    expect(listing.body).not.toContain('notes.txt');
    expect((await dav('GET', '/home/notes.txt', 'bob:bob-password-3')).status).toBe(404);
    const empty = await c.submit('/users/delete', { name: 'bob' }, again);
    expect(textOf(empty.body)).toContain('Deleted user bob.');
  });

  it('disables a user: its POP3 session, WebDAV and page session end, sign-in says the reason to the right password only; never oneself; enabled again', async () => {
    const added = await c.submit('/users/add', { name: 'erin', password: 'erin-password-1' }, await c.get('/users'));
    expect(rowOf(added.body, 'erin')).toContain('<td>enabled</td>');
    const pop3 = await pop3Login('erin', 'erin-password-1');
    const erin = a.client();
    expect((await erin.signIn('erin', 'erin-password-1')).body).toContain('<h1>My account</h1>');
    expect(await davStatus('/home/', 'erin:erin-password-1')).toBe(207);

    const disabled = await c.submit('/users/disable', { name: 'erin', reason: 'lost phone' }, added);
    expect(textOf(disabled.body)).toContain('Disabled erin: it can no longer log in.');
    expect(textOf(rowOf(disabled.body, 'erin'))).toMatch(/disabled since \d{4}-\d\d-\d\d \d\d:\d\d UTC: lost phone/);
    expect(textOf(rowOf(disabled.body, 'erin'))).toContain('Enable erin');
    // The POP3 service (another process) ends the session at its next command.
    await runTranscript(pop3, [['STAT', /^-ERR \[AUTH\] The password was changed, or the account disabled or removed/]]);
    pop3.destroy();
    const signedOut = await erin.get('/me');
    expect([signedOut.status, signedOut.headers['location']]).toEqual([303, '/sign-in']);
    // The right password of a disabled account is a login refused, not a failure, in every service.
    // Taken once each service has reported all it counted so far (an earlier wrong password included).
    const [adminBefore, filesBefore] = [await settledCounters('admin'), await settledCounters('files')];
    expect(await davStatus('/home/', 'erin:erin-password-1')).toBe(401);
    const wrong = await erin.post('/sign-in', { name: 'erin', password: 'wrong' }, await erin.get('/sign-in'));
    expect(wrong.status).toBe(401);
    expect(textOf(wrong.body)).toContain('Wrong user name or password.');
    const right = await erin.post('/sign-in', { name: 'erin', password: 'erin-password-1' }, await erin.get('/sign-in'));
    expect(right.status).toBe(401);
    expect(textOf(right.body)).toContain('This account is disabled: lost phone');
    const counted = (now: Record<string, number>, before: Record<string, number>, name: string): number => (now[name] ?? 0) - (before[name] ?? 0);
    await waitFor(async () => {
      const now = await countersOf('admin');
      return counted(now, adminBefore, 'signInFailures') === 1 && counted(now, adminBefore, 'loginsRefused') === 1;
    }, { what: "the admin page's sign-ins counted: the wrong password a failure, the right one a login refused" });
    await waitFor(async () => {
      const now = await countersOf('files');
      return counted(now, filesBefore, 'authFailures') === 0 && counted(now, filesBefore, 'loginsRefused') === 1;
    }, { what: "the file service's 401 for the right password counted as a login refused" });

    // Not the administrator's own account: the page says why, and the action is refused.
    const page = await c.get('/users');
    expect(textOf(rowOf(page.body, 'root'))).toContain('You cannot disable the account you are signed in with: another administrator can.');
    const self = await c.submit('/users/disable', { name: 'root' }, page);
    expect(textOf(self.body)).toContain('Refused: you cannot disable the account you are signed in with: another administrator can.');
    expect(rowOf(self.body, 'root')).toContain('<td>enabled</td>');
    // A typed APOP secret equal to a disabled account's password is refused as any typed one.
    const apop = await c.submit('/users/apop', { name: 'erin', secret: 'erin-password-1' }, self);
    expect(textOf(apop.body)).toContain('Refused: the page makes APOP secrets itself and takes no typed one.');
    const nobody = await c.submit('/users/disable', { name: 'nobody' }, apop);
    expect(textOf(nobody.body)).toContain('Refused: no such user: nobody.');

    const enabled = await c.submit('/users/enable', { name: 'erin' }, nobody);
    expect(textOf(enabled.body)).toContain('Enabled erin: it can log in again.');
    expect(rowOf(enabled.body, 'erin')).toContain('<td>enabled</td>');
    const long = await c.submit('/users/disable', { name: 'erin', reason: 'x'.repeat(201) }, enabled);
    expect(textOf(long.body)).toContain('Refused: the reason is longer than 200 characters.');
    expect(rowOf(long.body, 'erin')).toContain('<td>enabled</td>');
    // A form posted by hand can carry a line break, which a POP3 or SMTP reply must not.
    const twoLines = await c.submit('/users/disable', { name: 'erin', reason: 'on leave\r\nback in May' }, long);
    expect(textOf(twoLines.body)).toContain('Refused: the reason contains a control character, U+000D (a carriage return), at position 9: write it on one line.');
    expect(rowOf(twoLines.body, 'erin')).toContain('<td>enabled</td>');
    // A right-to-left override (pasted, or posted by hand) would show the reason reversed in this list: "Trojan Source".
    const reversed = await c.submit('/users/disable', { name: 'erin', reason: 'on leave \u202eyaM 1 litnu' }, twoLines);
    expect(textOf(reversed.body)).toContain(
      'Refused: the reason contains a bidirectional control, U+202E (right-to-left override), at position 10: it would show the text around it in another order; remove it.',
    );
    expect(rowOf(reversed.body, 'erin')).toContain('<td>enabled</td>');
    (await pop3Login('erin', 'erin-password-1')).destroy();
    expect(await davStatus('/home/', 'erin:erin-password-1')).toBe(207);
    expect((await a.client().signIn('erin', 'erin-password-1')).body).toContain('<h1>My account</h1>');
  });

  it('`hearth user disable` ends a POP3 session of the pop3 service and refuses its logins, telling the reason after the right password; `enable` lets it in', async () => {
    await c.submit('/users/add', { name: 'fred', password: 'fred-password-1' }, await c.get('/users'));
    const open = await pop3Login('fred', 'fred-password-1');
    expect(await a.up.cli('user', 'disable', 'fred', '--reason', 'on leave')).toMatchObject({ code: 0, stdout: 'disabled fred (on leave): it can no longer log in\n' });
    await runTranscript(open, [['STAT', /^-ERR \[AUTH\] The password was changed, or the account disabled or removed/]]);
    open.destroy();
    const port = (await a.up.service('pop3')).listeners.find((l) => l.name === 'pop3')!.port;
    const refused = connect(port, '127.0.0.1');
    await runTranscript(refused, [
      [null, /^\+OK/],
      ['USER fred', /^\+OK/],
      ['PASS wrong', /^-ERR \[AUTH\] Authentication failed\r\n$/],
      ['USER fred', /^\+OK/],
      ['PASS fred-password-1', /^-ERR \[AUTH\] This account is disabled: on leave\r\n$/],
    ]);
    refused.destroy();
    expect((await a.up.cli('user', 'list')).stdout).toMatch(/^fred .* since [\d-]+ [\d:]+: on leave$/m);
    expect(await a.up.cli('user', 'enable', 'fred')).toMatchObject({ code: 0, stdout: 'enabled fred: it can log in again\n' });
    const again = await pop3Login('fred', 'fred-password-1');
    await runTranscript(again, [['QUIT', /^\+OK/]]);
    again.destroy();
  });

  it('shows hostile names escaped, never as markup', async () => {
    const hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>';
    const page = await c.submit('/users/add', { name: hostile, password: 'pw-pw-pw-1' }, await c.get('/users'));
    expect(page.body).not.toContain('<script>alert(1)');
    expect(page.body).not.toContain('<img src=x');
    expect(textOf(page.body)).toContain(`Refused: invalid user name ${JSON.stringify(hostile)}`);
    expect(page.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.body).toContain('&lt;img src=x onerror=alert(2)&gt;');
    const anon = a.client();
    const signIn = await anon.post('/sign-in', { name: hostile, password: 'x' }, await anon.get('/sign-in'));
    expect(signIn.status).toBe(401);
    expect(signIn.body).toContain('value="&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"');
    expect(signIn.body).not.toContain('<img src=x');
  });

  it("resets the administrator's own password: signed in still here, other sessions signed out", async () => {
    const other = a.client();
    expect((await other.signIn('root', 'root-password-1')).body).toContain('<h1>Dashboard</h1>');
    const page = await c.submit('/users/password', { name: 'root', password: 'root-password-2' }, await c.get('/users'));
    expect(textOf(page.body)).toContain('Changed the password of root.');
    expect((await c.get('/users')).status).toBe(200);
    expect((await other.get('/users')).status).toBe(303);
  });
});
