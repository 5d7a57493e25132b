/**
 * A non-administrator's own page over HTTPS against `hearth up` (with files): usage, the same
 * connection help as `hearth files` (for the host in the request's Host header, with the warning
 * when the certificate does not name it), a password change checked against the current password.
 * And every page's forms: each field labelled, each POST form with its CSRF token.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@hearth/testkit';
import { stopAll, waitState } from '@hearth/testkit/hearth-up';
import type { ServiceStatus } from '@hearth/supervisor/control';
import { setupAdmin, startAdmin, textOf, type AdminUp, type Client } from './helpers.js';

/** The files service's listeners, as the tests that reload another config replace them. */
const LISTEN = 'listen: { http: { port: 0 }, https: { address: "::", port: 0, tls: true } }';
const EXTRA = `  files:
    service: files
    ${LISTEN}
    settings: { home: { quota: 10MB } }
`;
let a: AdminUp;
let admin: Client;

const decode = (s: string): string => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

/** The own page's steps as `client` (signed in as `user`) gets them with a Host header, and hearth files' for `user` with `args` (`--host H`). */
function steps(client: Client, user: string): { at: (host: string) => Promise<string>; cli: (...args: string[]) => Promise<string> } {
  return {
    async at(host) {
      const me = await client.request('GET', '/me', undefined, { Host: host });
      expect(me.status).toBe(200);
      return decode(/<pre>([\s\S]*?)<\/pre>/.exec(me.body)![1]!);
    },
    async cli(...args) {
      const cli = await a.up.cli('files', '--user', user, '--config', a.up.configFile, ...args);
      expect(cli.code).toBe(0);
      return cli.stdout;
    },
  };
}

/**
 * Runs `body` with the suite reloaded on `change(config)`, once the file service runs and `ready`
 * holds of its status row (`what` names that wait), then reloads the config as it was.
 */
async function reloadedWith(change: (config: string) => string, ready: (files: ServiceStatus) => boolean, what: string, body: (files: ServiceStatus) => Promise<void>): Promise<void> {
  const config = readFileSync(a.up.configFile, 'utf8');
  a.up.writeConfig(change(config));
  try {
    await a.up.request({ verb: 'reload' });
    const files = await waitFor(async () => {
      const s = await a.up.service('files');
      return s.state === 'running' && ready(s) ? s : undefined;
    }, { what });
    await body(files);
  } finally {
    a.up.writeConfig(config);
    await a.up.request({ verb: 'reload' });
  }
}

beforeAll(async () => {
  a = await startAdmin('{ loginFailureDelay: 10ms }', EXTRA);
  await waitState(a.up, 'files', 'running');
  admin = await setupAdmin(a);
  const added = await admin.submit('/users/add', { name: 'carol', password: 'carol-password-1' }, await admin.get('/users'));
  expect(textOf(added.body)).toContain('Added user carol.');
});
afterAll(stopAll);

describe('my account', () => {
  it('shows a user their usage and the same connection help as hearth files', async () => {
    const carol = a.client();
    const me = await carol.signIn('carol', 'carol-password-1');
    expect(me.body).toContain('<h1>My account</h1>');
    expect(textOf(me.body)).toContain('Mail 0 messages, 0 B Files (home folder) 0 B of 9.5 MiB');
    // Only their own page in the navigation, and the admin pages closed.
    expect(me.body).not.toContain('href="/users"');
    expect((await carol.get('/')).status).toBe(403);
    // The config gives the files listeners port 0: hearth files asks the running supervisor for them.
    const cli = await a.up.cli('files', '--user', 'carol', '--config', a.up.configFile);
    expect(cli.code).toBe(0);
    const pre = /<pre>([\s\S]*?)<\/pre>/.exec(me.body)![1]!;
    expect(decode(pre)).toBe(cli.stdout);
  });

  it("gives the file service's steps for the host the browser used (its Host header), warning when the certificate does not name it", async () => {
    const carol = a.client();
    await carol.signIn('carol', 'carol-password-1');
    const { at: stepsAt, cli: filesFor } = steps(carol, 'carol');
    const https = (await a.up.service('files')).listeners.find((l) => l.name === 'https')!.port;

    // A name the certificate does not have: the warning, for that name, as hearth files --host says it.
    const other = await stepsAt(`NAS.Example.test:${a.port}`);
    expect(other.split('\n')[0]).toBe('Warning: the certificate does not name nas.example.test, so clients will refuse to connect');
    expect(other).toContain(`https://nas.example.test:${https}/home/`);
    expect(other).toBe(await filesFor('--host', 'nas.example.test'));

    // An IPv6 address the certificate names, in brackets with a port: no warning, the URLs in brackets.
    const v6 = await stepsAt(`[0:0:0:0:0:0:0:1]:${a.port}`);
    expect(v6).toMatch(new RegExp(`^Files for carol\\n {2}https://\\[::1\\]:${https}/home/ `));
    expect(v6).toBe(await filesFor('--host', '::1'));

    // A Host that is no host name or address: the listener's (localhost for ::), as before.
    const fallback = await filesFor();
    expect(fallback).toMatch(new RegExp(`^Files for carol\\n {2}https://localhost:${https}/home/ `));
    for (const bad of ['nas_box:443', '[nas.local]:443', '192.168.1:443', `localhost:99999`]) expect(await stepsAt(bad), bad).toBe(fallback);
  });

  it('changes the password only with the right current one', async () => {
    const carol = a.client();
    const me = await carol.signIn('carol', 'carol-password-1');
    const wrong = await carol.submit('/me/password', { current: 'nope', password: 'carol-password-2', confirm: 'carol-password-2' }, me);
    expect(textOf(wrong.body)).toContain('Refused: the current password is wrong.');
    const differ = await carol.submit('/me/password', { current: 'carol-password-1', password: 'carol-password-2', confirm: 'other' }, wrong);
    expect(textOf(differ.body)).toContain('Refused: the two new passwords differ.');
    const ok = await carol.submit('/me/password', { current: 'carol-password-1', password: 'carol-password-2', confirm: 'carol-password-2' }, differ);
    expect(textOf(ok.body)).toContain('Your password was changed.');
    // Still signed in here; the new password works elsewhere, the old one no longer.
    expect((await carol.get('/me')).status).toBe(200);
    const other = a.client();
    expect((await other.post('/sign-in', { name: 'carol', password: 'carol-password-1' }, await other.get('/sign-in'))).status).toBe(401);
    expect((await other.signIn('carol', 'carol-password-2')).body).toContain('<h1>My account</h1>');
  });
});

describe('my account with a file service on plain HTTP only', () => {
  it('shows the plain HTTP steps, the same as hearth files, whatever the listener is named', async () => {
    // Named neither http nor https: both take the service's TCP listener without TLS.
    const web = (config: string): string => config.replace(LISTEN, 'listen: { web: { address: 0.0.0.0, port: 0 } }');
    await reloadedWith(web, (files) => files.listeners.every((l) => l.name === 'web'), 'the file service on its web listener alone', async () => {
      const dave = await admin.submit('/users/add', { name: 'dave', password: 'dave-password-1' }, await admin.get('/users'));
      expect(textOf(dave.body)).toContain('Added user dave.');
      const me = await a.client().signIn('dave', 'dave-password-1');
      const cli = await a.up.cli('files', '--user', 'dave', '--config', a.up.configFile);
      expect(cli.code).toBe(0);
      const pre = decode(/<pre>([\s\S]*?)<\/pre>/.exec(me.body)![1]!);
      expect(pre).toBe(cli.stdout);
      expect(pre).toMatch(/^Files for dave\n {2}http:\/\/127\.0\.0\.1:\d+\/home\//);
      expect(pre).toContain('settings: { allowPlaintextAuth: true }');
      // The service takes no password from another machine over plain HTTP: the steps work on
      // this machine only, at the loopback address, whatever host the browser used.
      const elsewhere = a.client();
      await elsewhere.signIn('dave', 'dave-password-1');
      const other = await elsewhere.request('GET', '/me', undefined, { Host: `nas.example.test:${a.port}` });
      expect(decode(/<pre>([\s\S]*?)<\/pre>/.exec(other.body)![1]!)).toBe(cli.stdout);
    });
  });

  it('taking passwords from other machines (allowPlaintextAuth): the plain HTTP steps for the host the browser used, as hearth files --host gives them', async () => {
    const open = (config: string): string =>
      config.replace(LISTEN, 'listen: { http: { address: 0.0.0.0, port: 0 } }').replace('settings: { home: { quota: 10MB } }', 'settings: { home: { quota: 10MB }, allowPlaintextAuth: true }');
    await reloadedWith(open, (files) => files.listeners.length === 1 && files.listeners[0]!.address === '0.0.0.0', 'the file service on 0.0.0.0 alone', async (files) => {
      const port = files.listeners[0]!.port;
      const frank = await admin.submit('/users/add', { name: 'frank', password: 'frank-password-1' }, await admin.get('/users'));
      expect(textOf(frank.body)).toContain('Added user frank.');
      const client = a.client();
      await client.signIn('frank', 'frank-password-1');
      const { at: stepsAt, cli: filesFor } = steps(client, 'frank');
      // A name other than the listener's address: the steps for that name (it was 127.0.0.1).
      const named = await stepsAt(`NAS.Example.test:${a.port}`);
      expect(named).toMatch(new RegExp(`^Files for frank\\n {2}http://nas\\.example\\.test:${port}/home/ `));
      expect(named).toContain(`Folder: \\\\nas.example.test@${port}\\DavWWWRoot\\home\n`);
      expect(named).toContain('Its allowPlaintextAuth setting takes passwords from other machines over plain HTTP');
      expect(named).toBe(await filesFor('--host', 'nas.example.test'));
      // An IPv4 address: the steps for it, as hearth files --host gives them.
      expect(await stepsAt(`192.168.1.10:${a.port}`)).toBe(await filesFor('--host', '192.168.1.10'));
      // A Host that is no host name or address, or an IPv6 address, which does not reach a
      // listener on 0.0.0.0: the listener's local address, as before.
      const fallback = await filesFor();
      expect(fallback).toMatch(new RegExp(`^Files for frank\\n {2}http://127\\.0\\.0\\.1:${port}/home/ `));
      for (const bad of ['nas_box:443', '[nas.local]:443', `[::1]:${a.port}`]) expect(await stepsAt(bad), bad).toBe(fallback);
    });
  });

  it('on one IPv6 address: the URLs with it in brackets, the Windows folder in its ipv6-literal.net form, as hearth files prints them', async () => {
    const v6 = (config: string): string => config.replace(LISTEN, 'listen: { http: { address: "::1", port: 0 } }');
    await reloadedWith(v6, (files) => files.listeners.length === 1 && files.listeners[0]!.address === '::1', 'the file service on ::1 alone', async (files) => {
      const port = files.listeners[0]!.port;
      const eve = await admin.submit('/users/add', { name: 'eve', password: 'eve-password-1' }, await admin.get('/users'));
      expect(textOf(eve.body)).toContain('Added user eve.');
      const me = await a.client().signIn('eve', 'eve-password-1');
      const pre = decode(/<pre>([\s\S]*?)<\/pre>/.exec(me.body)![1]!);
      expect(pre).toMatch(new RegExp(`^Files for eve\\n {2}http://\\[::1\\]:${port}/home/ `));
      expect(pre).toContain(`Folder: \\\\--1.ipv6-literal.net@${port}\\DavWWWRoot\\home\n`);
      const cli = await a.up.cli('files', '--user', 'eve', '--config', a.up.configFile);
      expect(cli.code).toBe(0);
      expect(pre).toBe(cli.stdout);
    });
  });
});

describe('my account with the HTTPS listener on loopback', () => {
  it('gives the steps at localhost or its own address, whatever other host the browser used, and says other devices cannot reach it', async () => {
    const loopback = (config: string): string => config.replace(LISTEN, 'listen: { http: { port: 0 }, https: { address: 127.0.0.1, port: 0, tls: true } }');
    await reloadedWith(loopback, (files) => files.listeners.find((l) => l.name === 'https')?.address === '127.0.0.1', 'the file service with its HTTPS listener on 127.0.0.1', async () => {
      const gina = await admin.submit('/users/add', { name: 'gina', password: 'gina-password-1' }, await admin.get('/users'));
      expect(textOf(gina.body)).toContain('Added user gina.');
      const client = a.client();
      await client.signIn('gina', 'gina-password-1');
      const { at: stepsAt, cli: filesFor } = steps(client, 'gina');
      const local = await filesFor();
      expect(local).toMatch(/^Files for gina\n {2}https:\/\/localhost:\d+\/home\/ /);
      expect(local).toContain('\nIts HTTPS listener is on 127.0.0.1 only: programs on this machine reach it, other\ndevices cannot. To let them,');
      // A name other devices use, or an address the listener is not on: the listener's own steps.
      for (const other of [`nas.example.test:${a.port}`, `[::1]:${a.port}`, `192.168.1.10:${a.port}`]) expect(await stepsAt(other), other).toBe(local);
      // Its own address: the steps for it, as hearth files --host gives them.
      expect(await stepsAt(`127.0.0.1:${a.port}`)).toBe(await filesFor('--host', '127.0.0.1'));
    });
  });
});

describe('every page', () => {
  it('labels every field, carries the CSRF token in every form, and has one main and one h1', async () => {
    for (const path of ['/', '/users', '/shares', '/logs', '/me']) {
      const page = (await admin.get(path)).body;
      expect(page, path).toMatch(/^<!doctype html>\n<html lang="en">/);
      expect(page.match(/<main\b/g), path).toHaveLength(1);
      expect(page.match(/<h1>/g), path).toHaveLength(1);
      const labels = new Set([...page.matchAll(/<label for="([^"]+)">/g)].map((m) => m[1]));
      const fields = [...page.matchAll(/<(input|select|textarea)\b([^>]*)>/g)].filter((m) => !/type="hidden"/.test(m[2]!));
      // The dashboard's forms are buttons only; every other page has fields.
      if (path !== '/') expect(fields.length, path).toBeGreaterThan(0);
      for (const [tag] of fields) {
        const id = /\bid="([^"]+)"/.exec(tag)?.[1];
        expect(id, `${path}: ${tag}`).toBeDefined();
        expect(labels.has(id), `${path}: no label for ${tag}`).toBe(true);
      }
      const forms = [...page.matchAll(/<form method="post"[\s\S]*?<\/form>/g)].map((m) => m[0]);
      expect(forms.length, path).toBeGreaterThan(0);
      for (const form of forms) expect(form, path).toContain('<input type="hidden" name="csrf" value="');
      for (const [, inner] of page.matchAll(/<button\b[^>]*>([^<]*)<\/button>/g)) expect(inner!.trim(), path).not.toBe('');
    }
  });
});
