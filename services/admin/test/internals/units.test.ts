/** White-box: the escaping template, the router's table rules, the session store's expiry and fixation rule. */
import { describe, expect, it } from 'vitest';
import { Html, Router, html, type Route } from '@hearth/admin';
import { Sessions } from '../../dist/sessions.js';

const ok: Route['run'] = () => ({ kind: 'redirect', location: '/' });

describe('html', () => {
  it('escapes every interpolated string, keeps Html made by the template, joins arrays, drops empty values', () => {
    const name = `<img src=x onerror="alert('1')">&`;
    const inner = html`<b>${name}</b>`;
    expect(html`<p title="${name}">${inner}${[html`<i>1</i>`, '<2>']}${undefined}${null}${false}${0}</p>`.toString()).toBe(
      '<p title="&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;"><b>&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;</b><i>1</i>&lt;2&gt;0</p>',
    );
  });

  it('cannot be made from a string outside the template', () => {
    expect(() => new Html(Symbol('html'), '<script>')).toThrow(/made by the html template only/);
  });
});

describe('Router', () => {
  it('finds exact paths, maps HEAD to GET, and names the allowed methods of a known path', () => {
    const router = new Router([
      { method: 'GET', path: '/a', access: 'public', run: ok },
      { method: 'POST', path: '/b', access: 'admin', run: ok },
    ]);
    expect(router.find('HEAD', '/a').kind).toBe('found');
    expect(router.find('GET', '/a/')).toEqual({ kind: 'none' });
    expect(router.find('GET', '/b')).toEqual({ kind: 'wrong-method', allow: 'POST' });
  });

  it('refuses two routes for one method and path, and a route without a session that is not a public GET', () => {
    expect(() => new Router([{ method: 'GET', path: '/a', access: 'public', run: ok }, { method: 'GET', path: '/a', access: 'admin', run: ok }])).toThrow('two routes for GET /a');
    expect(() => new Router([{ method: 'POST', path: '/m', access: 'public', session: 'none', run: ok }])).toThrow('a route without a session must be a public GET');
    expect(() => new Router([{ method: 'GET', path: '/m', access: 'admin', session: 'none', run: ok }])).toThrow('a route without a session must be a public GET');
  });
});

describe('Sessions', () => {
  it('forgets a session idle too long, and the old id at sign-in', () => {
    let now = 0;
    const sessions = new Sessions(1000, 100, () => now);
    const anon = sessions.create();
    now = 900;
    expect(sessions.get(anon.id)).toBe(anon);
    const signed = sessions.signIn(anon, 'root');
    expect(signed.id).not.toBe(anon.id);
    expect(signed.csrf).not.toBe(anon.csrf);
    expect(sessions.get(anon.id)).toBeUndefined();
    now = 1800;
    expect(sessions.get(signed.id)).toBe(signed);
    now = 2801;
    expect(sessions.get(signed.id)).toBeUndefined();
  });

  it('keeps at most max sessions, dropping the least recently used', () => {
    const sessions = new Sessions(60_000, 16);
    const all = Array.from({ length: 17 }, () => sessions.create());
    expect(sessions.size).toBe(16);
    expect(sessions.get(all[0]!.id)).toBeUndefined();
    expect(sessions.get(all[16]!.id)).toBe(all[16]);
  });
});
