/**
 * Sessions across a restart of the admin service (`hearth restart admin`) over real HTTPS: a
 * signed-in browser stays signed in with the cookie it has, a notice left by a form before the
 * restart is shown after it (once), and a form served before the restart is accepted after it
 * (its CSRF token is the session's, kept with it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopAll } from '@hearth/testkit/hearth-up';
import { setupAdmin, startAdmin, textOf, type AdminUp } from './helpers.js';

let a: AdminUp;

beforeAll(async () => {
  a = await startAdmin();
});
afterAll(stopAll);

describe('a restart of the admin service', () => {
  it('signs nobody out: the cookie, the notice of a form and a form served before it still work', async () => {
    const c = await setupAdmin(a);
    const cookie = c.cookies.get('__Host-hearth-admin');
    const form = await c.get('/users');
    // The form's answer (a 303) is read before the restart; the page it leads to, after it.
    const added = await c.post('/users/add', { name: 'ann', password: 'ann-password-1' }, form);
    expect(added.status).toBe(303);
    const before = await a.up.service('admin');

    const restarted = await a.up.cli('restart', 'admin');
    expect(restarted.code, restarted.stderr).toBe(0);
    const after = await a.up.service('admin');
    expect(after.state).toBe('running');
    expect(after.pid).not.toBe(before.pid);
    // The instance that went stopped cleanly: nothing of the admin service's logged as an error.
    expect(a.up.lines.filter((l) => l['svc'] === 'admin' && (l['level'] as number) >= 50)).toEqual([]);

    const shown = await c.get(String(added.headers['location']));
    expect(shown.status).toBe(200);
    expect(textOf(shown.body)).toContain('Added user ann.');
    const again = await c.get('/users');
    expect(again.body).toContain('<h1>Users</h1>');
    expect(textOf(again.body)).not.toContain('Added user ann.');
    // The form from before the restart, with its CSRF token.
    const second = await c.submit('/users/add', { name: 'bea', password: 'bea-password-1' }, form);
    expect(textOf(second.body)).toContain('Added user bea.');
    // No new session was made on the way.
    expect(c.cookies.get('__Host-hearth-admin')).toBe(cookie);
  });
});
