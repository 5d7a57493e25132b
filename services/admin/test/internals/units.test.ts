/**
 * White-box: the escaping template, the Host header's host (`requestHost`, `hostReaching`), the router's table rules, the session store's expiry, fixation
 * rule and persistence, the metrics and setup tokens' files, and these on a full disk (a small tmpfs mounted by
 * the test, as root).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openAccounts, type Accounts } from '@hearth/accounts';
import { Html, Router, html, metricsToken, metricsTokenPath, readSetupToken, setupTokenFile, type Route } from '@hearth/admin';
import { isDiskFull, RESERVE_BYTES } from '@hearth/sqlite';
import { mountSmallDisk } from '@hearth/testkit';
import { Sessions } from '../../dist/sessions.js';
import { SetupToken } from '../../dist/setup.js';
import { hostReaching, requestHost } from '../../dist/request-host.js';

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

describe('requestHost', () => {
  it('takes the host of a Host header: port off, IPv6 out of its brackets, names in lower case, addresses in short form', () => {
    expect(requestHost('NAS.Local:2843')).toBe('nas.local');
    expect(requestHost('nas.local.')).toBe('nas.local');
    expect(requestHost('192.168.1.10:443')).toBe('192.168.1.10');
    expect(requestHost('[FD00:0:0:0:0:0:0:10]:2843')).toBe('fd00::10');
    expect(requestHost('[::1]')).toBe('::1');
  });

  it('is undefined for a missing Host or one that is no host name or address (the page then uses the listener address)', () => {
    for (const bad of [undefined, '', ':443', 'nas_box', 'nas local', '[nas.local]:443', '[1.2.3.4]', '::1', 'fe80::1%eth0', '[fe80::1%25eth0]', '192.168.1', 'nas.local:99999', 'nas.local:x', 'a..b', 'a/b@c']) {
      expect(requestHost(bad), String(bad)).toBeUndefined();
    }
  });
});

describe('hostReaching', () => {
  const reaching = (address: string, ...hosts: string[]): Array<string | undefined> => hosts.map((h) => hostReaching(h, address));

  it('for a listener on every address: any name, and an address of its family (both for ::)', () => {
    expect(reaching('0.0.0.0', 'nas.local:2843', 'localhost', '192.168.1.10', '[::1]:2843')).toEqual(['nas.local', 'localhost', '192.168.1.10', undefined]);
    for (const v6 of ['::', '0:0:0:0:0:0:0:0']) expect(reaching(v6, 'nas.local', 'localhost', '192.168.1.10', '[fd00::10]')).toEqual(['nas.local', 'localhost', '192.168.1.10', 'fd00::10']);
  });

  it('for one on loopback: localhost and its own address only, not a name other devices use', () => {
    expect(reaching('127.0.0.1', 'localhost:2843', '127.0.0.1', 'nas.local', '192.168.1.10', '[::1]', '127.0.0.2')).toEqual(['localhost', '127.0.0.1', undefined, undefined, undefined, undefined]);
    expect(reaching('0:0:0:0:0:0:0:1', '[::1]:2843', 'localhost', '127.0.0.1')).toEqual(['::1', 'localhost', undefined]);
  });

  it('for one on another address: that address in any spelling and any name but localhost', () => {
    expect(reaching('192.168.1.10', 'nas.local', '192.168.1.10:2843', 'localhost', '127.0.0.1', '192.168.1.11')).toEqual(['nas.local', '192.168.1.10', undefined, undefined, undefined]);
    expect(reaching('FD00:0:0:0:0:0:0:10', '[fd00::10]', '[fd00::11]', 'nas.local')).toEqual(['fd00::10', undefined, 'nas.local']);
  });

  it('is undefined for a Host that is no host name or address', () => {
    expect(hostReaching('nas_box', '0.0.0.0')).toBeUndefined();
    expect(hostReaching(undefined, '0.0.0.0')).toBeUndefined();
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
  const dir = mkdtempSync(join(tmpdir(), 'hearth-sessions-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const fresh = (): string => join(dir, `${++n}`, 'sessions.db');
  const open: Sessions[] = [];
  const sessionsAt = (file: string, idleMs: number, max: number, now?: () => number): Sessions => {
    const s = new Sessions(file, idleMs, max, now);
    open.push(s);
    return s;
  };
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });

  it('lets a signed-in session go on while the disk is full, and refuses a new one as a full disk', () => {
    const disk = mountSmallDisk('1m', 'hearth-sessions-full-');
    let now = 0;
    const sessions = new Sessions(join(disk.path, 'sessions.db'), 3_600_000, 10, () => now);
    try {
      const alice = sessions.create({ kind: 'signed-in', user: 'alice', since: 0, stamp: 's1' });
      disk.fill();
      // Its last use is due to be written, and cannot be.
      now = 120_000;
      expect(sessions.get(alice.id)?.state).toEqual({ kind: 'signed-in', user: 'alice', since: 0, stamp: 's1' });
      let refused: unknown;
      try {
        sessions.create();
      } catch (error) {
        refused = error;
      }
      expect(isDiskFull(refused)).toBe(true);
      rmSync(join(disk.path, 'filler'));
      expect(sessions.get(alice.id)?.state.kind).toBe('signed-in');
      expect(sessions.get(sessions.create().id)?.state.kind).toBe('anonymous');
    } finally {
      sessions.close();
      disk.unmount();
    }
  });

  it("signs out, and ends a user's other sessions, on a full disk too", async () => {
    const disk = mountSmallDisk('4m', 'hearth-sessions-end-');
    const sessions = new Sessions(join(disk.path, 'sessions.db'), 3_600_000, 10);
    try {
      await sessions.reserved;
      const kept = sessions.create({ kind: 'signed-in', user: 'bob', since: 0, stamp: 's1' });
      const others = [1, 2, 3].map(() => sessions.create({ kind: 'signed-in', user: 'bob', since: 0, stamp: 's1' }));
      const alice = sessions.create({ kind: 'signed-in', user: 'alice', since: 0, stamp: 's1' });
      disk.fill();
      await sessions.endUser('bob', kept);
      for (const s of others) expect(sessions.get(s.id)).toBeUndefined();
      expect(sessions.get(kept.id)?.state.kind).toBe('signed-in');
      await sessions.end(alice);
      expect(sessions.get(alice.id)).toBeUndefined();
      expect(readdirSync(disk.path)).not.toContain('reserve');
      // Written again once there is room.
      rmSync(join(disk.path, 'filler'));
      await sessions.end(kept);
      expect(statSync(join(disk.path, 'reserve')).size).toBe(RESERVE_BYTES);
    } finally {
      sessions.close();
      disk.unmount();
    }
  });

  it('keeps the credential stamp of a sign-in, and takes a new one (a session from before stamps were kept, too)', async () => {
    const sessions = sessionsAt(fresh(), 60_000, 100);
    const signed = await sessions.signIn(sessions.create(), 'root', 's1');
    const legacy = sessions.create({ kind: 'signed-in', user: 'ann', since: 0, stamp: undefined });
    expect(sessions.get(signed.id)?.state).toMatchObject({ user: 'root', stamp: 's1' });
    expect(sessions.get(legacy.id)?.state).toMatchObject({ user: 'ann', stamp: undefined });
    sessions.restamp(signed, 's2');
    sessions.restamp(legacy, 'a1');
    expect(sessions.get(signed.id)?.state).toMatchObject({ user: 'root', stamp: 's2' });
    expect(sessions.get(legacy.id)?.state).toMatchObject({ user: 'ann', stamp: 'a1' });
  });

  it('forgets a session idle too long, and the old id at sign-in', async () => {
    let now = 0;
    const sessions = sessionsAt(fresh(), 1000, 100, () => now);
    const anon = sessions.create();
    now = 900;
    expect(sessions.get(anon.id)).toMatchObject({ id: anon.id, csrf: anon.csrf, state: { kind: 'anonymous' } });
    const signed = await sessions.signIn(anon, 'root', 's1');
    expect(signed.id).not.toBe(anon.id);
    expect(signed.csrf).not.toBe(anon.csrf);
    expect(sessions.get(anon.id)).toBeUndefined();
    now = 1800;
    expect(sessions.get(signed.id)).toMatchObject({ id: signed.id, state: { kind: 'signed-in', user: 'root', since: 900, stamp: 's1' } });
    now = 2801;
    expect(sessions.get(signed.id)).toBeUndefined();
    expect(sessions.size).toBe(0);
  });

  it('keeps at most max sessions, dropping the least recently used', () => {
    let now = 0;
    const sessions = sessionsAt(fresh(), 60_000, 16, () => now);
    const all = Array.from({ length: 16 }, () => sessions.create());
    // The first one is used again: the second is now the least recently used.
    now = 1000;
    expect(sessions.get(all[0]!.id)).toBeDefined();
    const last = sessions.create();
    expect(sessions.size).toBe(16);
    expect(sessions.get(all[1]!.id)).toBeUndefined();
    expect(sessions.get(all[0]!.id)).toBeDefined();
    expect(sessions.get(last.id)).toBeDefined();
  });

  it('is found by another store on the same file (the next instance), state, CSRF token and notice alike', async () => {
    const file = fresh();
    const before = sessionsAt(file, 60_000, 100);
    const mine = await before.signIn(before.create(), 'root', 's1');
    const other = await before.signIn(before.create(), 'ann', 's2');
    mine.notice = { kind: 'ok', text: 'restart biff: running.', details: ['one'] };
    before.save(mine);
    before.close();

    const after = sessionsAt(file, 60_000, 100);
    const found = after.get(mine.id)!;
    expect(found).toMatchObject({ id: mine.id, csrf: mine.csrf, state: { kind: 'signed-in', user: 'root' }, notice: mine.notice });
    // The page that shows the notice clears it, for good.
    found.notice = undefined;
    after.save(found);
    expect(sessionsAt(file, 60_000, 100).get(mine.id)?.notice).toBeUndefined();
    // Ending a user's sessions but one, from either store.
    await after.endUser('ann');
    expect(after.get(other.id)).toBeUndefined();
    await after.endUser('root', found);
    expect(after.get(mine.id)).toBeDefined();
    // The files hold the cookie's hash, never the cookie, and only this user may read them.
    const files = [file, `${file}-wal`].map((f) => ({ f, bytes: readFileSync(f) }));
    expect(files.some(({ bytes }) => bytes.includes(createHash('sha256').update(mine.id).digest('hex')))).toBe(true);
    for (const { f, bytes } of files) {
      for (const s of [mine, other]) expect(bytes.includes(s.id), f).toBe(false);
      expect(statSync(f).mode & 0o077, f).toBe(0);
    }
  });
});

describe('metrics token', () => {
  it('is kept once written, and replaces an empty file left by a write cut short', () => {
    const data = mkdtempSync(join(tmpdir(), 'hearth-metrics-token-'));
    try {
      mkdirSync(join(data, 'admin'));
      writeFileSync(metricsTokenPath(data), '');
      const token = metricsToken(data);
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(readFileSync(metricsTokenPath(data), 'utf8')).toBe(`${token}\n`);
      expect(statSync(metricsTokenPath(data)).mode & 0o777).toBe(0o600);
      expect(metricsToken(data)).toBe(token);
      expect(readdirSync(join(data, 'admin'))).toEqual(['metrics-token']);
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });

  it('leaves nothing behind on a full disk and names the file, then is written once there is room', () => {
    const disk = mountSmallDisk('256k', 'hearth-metrics-token-full-');
    const mnt = disk.path;
    try {
      mkdirSync(join(mnt, 'admin'));
      disk.fill();
      const path = metricsTokenPath(mnt);
      expect(() => metricsToken(mnt)).toThrow(expect.objectContaining({ name: 'FileWriteError', code: 'ENOSPC', path, message: expect.stringContaining(`cannot write ${path}: ENOSPC`) }));
      expect(readdirSync(join(mnt, 'admin'))).toEqual([]);
      rmSync(join(mnt, 'filler'));
      const token = metricsToken(mnt);
      expect(metricsToken(mnt)).toBe(token);
    } finally {
      disk.unmount();
    }
  });
});

describe('setup token', () => {
  const withAccounts = async (data: string, run: (accounts: Accounts) => Promise<void>): Promise<void> => {
    const accounts = await openAccounts({ dir: join(data, 'accounts') });
    try {
      await run(accounts);
    } finally {
      accounts.close();
    }
  };

  it('is kept across starts until used, and replaces an empty file left by a write cut short', async () => {
    const data = mkdtempSync(join(tmpdir(), 'hearth-setup-token-'));
    try {
      await withAccounts(data, async (accounts) => {
        mkdirSync(join(data, 'admin'));
        writeFileSync(setupTokenFile(data), '');
        const first = await SetupToken.start(data, accounts, () => {});
        expect(first.state.kind).toBe('open');
        const token = first.state.kind === 'open' ? first.state.token : '';
        expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
        expect(readFileSync(setupTokenFile(data), 'utf8')).toBe(`${token}\n`);
        expect(statSync(setupTokenFile(data)).mode & 0o777).toBe(0o600);
        expect(readSetupToken(data)).toBe(token);
        const second = await SetupToken.start(data, accounts, () => {});
        expect(await second.accepts(token)).toBe(true);
        expect(readdirSync(join(data, 'admin'))).toEqual(['setup-token']);
        await second.use(async () => {
          expect(readSetupToken(data)).toBeUndefined();
          // While the form makes the administrator, no look opens another token.
          expect(await second.current()).toEqual({ kind: 'creating' });
          expect(await second.accepts(token)).toBe(false);
          await accounts.add('root', 'root-password-1');
          accounts.setAdmin('root', true);
        });
        expect(await second.current()).toEqual({ kind: 'closed' });
        expect(readSetupToken(data)).toBeUndefined();
      });
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });

  it('opens a new token, announced, at the first look once no administrator can sign in, also after a failed setup', async () => {
    const data = mkdtempSync(join(tmpdir(), 'hearth-setup-token-'));
    try {
      await withAccounts(data, async (accounts) => {
        const announced: string[] = [];
        const setup = await SetupToken.start(data, accounts, (token) => announced.push(token));
        const first = readSetupToken(data)!;
        // Announced by the service at its start, not here.
        expect(announced).toEqual([]);
        // The setup form's creation fails: the next look opens a new token.
        await expect(setup.use(() => Promise.reject(new Error('no room for the maildrop')))).rejects.toThrow('no room for the maildrop');
        expect(setup.state).toEqual({ kind: 'closed' });
        const second = await setup.current();
        expect(second.kind).toBe('open');
        const token = second.kind === 'open' ? second.token : '';
        expect(token).not.toBe(first);
        expect(announced).toEqual([token]);
        expect(readSetupToken(data)).toBe(token);
        expect(await setup.accepts(first)).toBe(false);
        expect(await setup.accepts(token)).toBe(true);
        // An administrator made elsewhere closes it; disabled, it opens a third, once.
        await accounts.add('root', 'root-password-1');
        accounts.setAdmin('root', true);
        expect(await setup.current()).toEqual({ kind: 'closed' });
        expect(readSetupToken(data)).toBeUndefined();
        await accounts.add('bob', 'bob-password-1');
        accounts.setAdmin('bob', true);
        accounts.disable('bob');
        accounts.setAdmin('root', false);
        const third = await setup.current();
        expect(await setup.current()).toEqual(third);
        expect(third.kind === 'open' && third.token !== token && third.token !== first).toBe(true);
        expect(announced).toHaveLength(2);
      });
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });

  it('leaves nothing behind on a full disk and names the file, then is written once there is room', async () => {
    const disk = mountSmallDisk('1m', 'hearth-setup-token-full-');
    try {
      await withAccounts(disk.path, async (accounts) => {
        mkdirSync(join(disk.path, 'admin'));
        disk.fill();
        await expect(SetupToken.start(disk.path, accounts, () => {})).rejects.toThrow(`cannot write ${setupTokenFile(disk.path)}: ENOSPC`);
        expect(readdirSync(join(disk.path, 'admin'))).toEqual([]);
        rmSync(join(disk.path, 'filler'));
        const setup = await SetupToken.start(disk.path, accounts, () => {});
        expect(setup.state.kind).toBe('open');
        expect(await setup.accepts(readSetupToken(disk.path) ?? null)).toBe(true);
        // Opened again while the service runs, on a full disk: thrown, left closed, opened at a look with room.
        await setup.use(async () => {});
        disk.fill();
        await expect(setup.current()).rejects.toThrow(`cannot write ${setupTokenFile(disk.path)}: ENOSPC`);
        expect(setup.state).toEqual({ kind: 'closed' });
        expect(readdirSync(join(disk.path, 'admin'))).toEqual([]);
        rmSync(join(disk.path, 'filler'));
        expect((await setup.current()).kind).toBe('open');
        expect(await setup.accepts(readSetupToken(disk.path) ?? null)).toBe(true);
      });
    } finally {
      disk.unmount();
    }
  });
});
