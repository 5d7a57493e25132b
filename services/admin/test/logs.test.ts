/**
 * The logs page over HTTPS against `hearth up`: the ring of recent lines, filtered by service and
 * level; the live tail gets a line logged after it opened; hostile text in log lines (a program's
 * plain output, a user name in a structured line) is shown escaped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@hearth/testkit';
import { stopAll, waitState } from '@hearth/testkit/hearth-up';
import { setupAdmin, startAdmin, textOf, type AdminUp, type Client } from './helpers.js';

const HOSTILE = `<script>alert(1)</script><img src=x onerror=alert(2)>`;
const EXTRA = `  noisy:
    command: [sh, -c, "echo '${HOSTILE}'; exec sleep 600"]
`;
let a: AdminUp;
let c: Client;

beforeAll(async () => {
  a = await startAdmin('{ loginFailureDelay: 10ms }', EXTRA);
  await waitState(a.up, 'noisy', 'running');
  c = await setupAdmin(a);
});
afterAll(stopAll);

describe('logs', () => {
  it('shows the recent lines of every service, a program\'s hostile output escaped', async () => {
    const page = await waitFor(async () => {
      const p = await c.get('/logs');
      return p.body.includes('alert(1)') ? p : undefined;
    });
    expect(page.body).not.toContain('<script>alert(1)');
    expect(page.body).not.toContain('<img src=x');
    expect(page.body).toContain('<td>noisy</td><td>info</td><td>&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;</td>');
    expect(page.body).toMatch(/<td>admin<\/td><td>info<\/td><td>listening<\/td>/);
    expect(page.body).toContain('<tbody id="log" data-live="/live/logs?level=info" data-max="1000">');
  });

  it('filters by service and least level', async () => {
    const anon = a.client();
    await anon.post('/sign-in', { name: '<b>x</b>', password: 'wrong' }, await anon.get('/sign-in'));
    const page = await waitFor(async () => {
      const p = await c.get('/logs?service=admin&level=warn');
      return p.body.includes('sign-in refused') ? p : undefined;
    });
    expect(page.body).not.toContain('<td>noisy</td>');
    expect(page.body).not.toContain('<td>listening</td>');
    expect(page.body).toContain('<td>admin</td><td>warn</td><td>sign-in refused</td><td>kind=admin user=&lt;b&gt;x&lt;/b&gt; remote=');
    expect(page.body).toContain('<option value="admin" selected>admin</option>');
    expect(page.body).toContain('<option value="warn" selected>warn</option>');
    const unknown = await c.get('/logs?service=nope');
    expect(textOf(unknown.body)).toContain('no service named "nope"');
  });

  it('tails new lines live, filtered', async () => {
    const anon = a.client();
    const form = await anon.get('/sign-in');
    let fired = false;
    const live = await c.events('/live/logs?service=admin&level=warn', (events) => {
      if (!fired && events.some((e) => e.event === 'open')) {
        fired = true;
        void anon.post('/sign-in', { name: 'tail-me', password: 'wrong' }, form);
      }
      return events.some((e) => e.event === 'line' && e.data.includes('tail-me'));
    });
    expect(live.status).toBe(200);
    const lines = live.events.filter((e) => e.event === 'line');
    expect(lines.every((e) => e.data.includes('<td>warn</td>'))).toBe(true);
    expect(lines.at(-1)!.data).toMatch(/^<tr class="level-warn"><td>\d\d:\d\d:\d\d\.\d{3}<\/td><td>admin<\/td><td>warn<\/td><td>sign-in refused<\/td><td>kind=admin user=tail-me /);
  });
});
