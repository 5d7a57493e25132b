/**
 * The admin page over HTTPS with its data dir on a full disk (a small tmpfs, as root): a signed-in
 * administrator still reads every page; a change that cannot be stored, and a new visitor's
 * session, get a 507 "Disk full" page that names the cause; signing out ends the session all
 * the same; once there is room, the same change goes through.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountSmallDisk, type SmallDisk } from '@hearth/testkit';
import { stopAll } from '@hearth/testkit/hearth-up';
import { setupAdmin, startAdmin, textOf, type AdminUp, type Client } from './helpers.js';

let disk: SmallDisk;
let a: AdminUp;
let c: Client;

beforeAll(async () => {
  disk = mountSmallDisk('48m', 'hearth-admin-full-');
  a = await startAdmin('{ loginFailureDelay: 10ms }', '', { path: disk.path, remove: async () => {} });
  c = await setupAdmin(a);
}, 60_000);

afterAll(async () => {
  await stopAll();
  disk?.unmount();
});

describe('admin page on a full disk', () => {
  it('reads on, answers 507 to what must be stored, and stores it once there is room', async () => {
    const users = await c.get('/users');
    expect(users.status).toBe(200);
    const other = a.client();
    expect((await other.signIn('root', 'root-password-1')).status).toBe(200);
    disk.fill();

    for (const path of ['/', '/users', '/shares']) {
      const page = await c.get(path);
      expect(page.status, path).toBe(200);
    }

    const refused = await c.submit('/users/add', { name: 'bob', password: 'bob-password-1' }, users);
    expect(refused.status).toBe(507);
    expect(refused.headers['content-type']).toMatch(/^text\/html/);
    expect(textOf(refused.body)).toContain('Disk full');
    expect(textOf(refused.body)).toContain('The disk of Hearth');

    // A visitor without a session cannot be given one.
    const stranger = await a.client().get('/sign-in');
    expect(stranger.status).toBe(507);
    expect(textOf(stranger.body)).toContain('Disk full');

    // Signing out ends the session all the same.
    const signedIn = other.cookies.get('__Host-hearth-admin')!;
    const out = await other.post('/sign-out', {}, await other.get('/'));
    expect(out.status).toBe(303);
    expect(out.headers['location']).toBe('/sign-in');
    const stale = a.client();
    stale.cookies.set('__Host-hearth-admin', signedIn);
    expect((await stale.get('/')).status).toBe(303);

    rmSync(join(disk.path, 'filler'));
    const added = await c.submit('/users/add', { name: 'bob', password: 'bob-password-1' }, await c.get('/users'));
    expect(added.status).toBe(200);
    expect(textOf(added.body)).toContain('bob');
    expect((await a.client().get('/sign-in')).status).toBe(200);
  });
});
