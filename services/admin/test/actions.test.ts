/**
 * The dashboard's actions over HTTPS against `hearth up`: restart, stop and start a service and
 * see the result and the supervisor's state; the page's own service is not stopped from itself;
 * a reload of a broken config shows each problem with file and line, and changes nothing; a
 * reload that makes a running service require a stopped one shows it stopped and why, a failed
 * one still failed and why; a start that brings up what services were held back for starts them
 * and says so; a service that exited and is not started again, and one held back for it, each
 * with why.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@hearth/testkit';
import { stopAll, waitState } from '@hearth/testkit/hearth-up';
import { setupAdmin, startAdmin, textOf, type AdminUp, type Client } from './helpers.js';

const BIFF = `  biff:
    service: biff
    listen: { comsat: { port: 0, protocol: udp } }
`;
/** admin requires relay, which requires base; web requires db (the page requires neither). */
const GRAPH = `  base:
    command: [sleep, "1000"]
  relay:
    command: [sleep, "1000"]
    requires: [base]
  db:
    command: [sleep, "1000"]
  web:
    command: [sleep, "1000"]
    requires: [db]
`;
let a: AdminUp;
let c: Client;

beforeAll(async () => {
  a = await startAdmin('{ loginFailureDelay: 10ms, liveInterval: 100ms }', BIFF + GRAPH, undefined, '    requires: [relay]\n');
  for (const name of ['biff', 'db', 'web']) await waitState(a.up, name, 'running');
  c = await setupAdmin(a);
});
afterAll(stopAll);

const rowOf = (page: string, name: string): string => {
  const m = new RegExp(`<tr data-service="${name}">([\\s\\S]*?)</tr>`).exec(page);
  if (!m) throw new Error(`no row for ${name}`);
  return m[1]!;
};

describe('the dashboard', () => {
  it('lists every service with state, pid, restarts, memory and key counters', async () => {
    const page = await c.get('/');
    const biff = await a.up.service('biff');
    const row = rowOf(page.body, 'biff');
    expect(row).toContain('state-running');
    expect(row).toContain(`<td>${biff.pid}`);
    expect(row).toMatch(/\d+\.\d (KiB|MiB)/);
    const admin = rowOf(page.body, 'admin');
    expect(admin).toContain('<dt title="HTTP requests answered">requests</dt>');
    expect(admin).toContain('this page');
    expect(page.body).toContain('<tbody id="services" data-live="/live/services">');
  });

  it('streams the service rows live to administrators only', async () => {
    const live = await c.events('/live/services', (events) => events.length >= 2);
    expect(live.status).toBe(200);
    expect(live.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(live.events.map((e) => e.event)).toEqual(['rows', 'rows']);
    expect(live.events[0]!.data).toContain('<tr data-service="biff">');
    const anonymous = await a.client().events('/live/services', () => true);
    expect(anonymous.status).toBe(303);
  });

  it('restarts a service: the result is shown and a new instance runs', async () => {
    const before = await a.up.service('biff');
    const page = await c.submit('/services', { name: 'biff', action: 'restart' }, await c.get('/'));
    expect(page.status).toBe(200);
    const after = await a.up.service('biff');
    expect(after.state).toBe('running');
    expect(after.pid).not.toBe(before.pid);
    expect(after.restarts).toBeGreaterThan(before.restarts);
    expect(textOf(page.body)).toContain(`restart biff: running, pid ${after.pid}.`);
    expect(rowOf(page.body, 'biff')).toContain(`<td>${after.pid}`);
  });

  it('stops a service and starts it again', async () => {
    const stopped = await c.submit('/services', { name: 'biff', action: 'stop' }, await c.get('/'));
    expect(textOf(stopped.body)).toContain('stop biff: stopped.');
    expect((await a.up.service('biff')).state).toBe('stopped');
    expect(rowOf(stopped.body, 'biff')).toContain('state-stopped');
    const started = await c.submit('/services', { name: 'biff', action: 'start' }, stopped);
    const now = await a.up.service('biff');
    expect(now.state).toBe('running');
    expect(textOf(started.body)).toContain(`start biff: running, pid ${now.pid}.`);
  });

  it('does not stop its own service, and names an unknown one', async () => {
    const own = await c.submit('/services', { name: 'admin', action: 'stop' }, await c.get('/'));
    expect(textOf(own.body)).toContain('admin serves this page: use hearth stop admin from a terminal.');
    expect((await a.up.service('admin')).state).toBe('running');
    const unknown = await c.submit('/services', { name: 'nope', action: 'restart' }, own);
    expect(textOf(unknown.body)).toContain('restart nope failed: no service named "nope"');
  });

  it('does not stop a service its own service requires, directly or not, naming the chain', async () => {
    const base = await c.submit('/services', { name: 'base', action: 'stop' }, await c.get('/'));
    expect(textOf(base.body)).toContain('admin serves this page and requires relay, which requires base: stopping base stops it too; use hearth stop base from a terminal.');
    const relay = await c.submit('/services', { name: 'relay', action: 'stop' }, base);
    expect(textOf(relay.body)).toContain('admin serves this page and requires relay: stopping relay stops it too; use hearth stop relay from a terminal.');
    for (const name of ['base', 'relay', 'admin']) expect((await a.up.service(name)).state).toBe('running');
  });

  it('disables the stop button of a service its own service requires, saying why, in the page and its live rows', async () => {
    const stopButton = (body: string, name: string): string => /<button[^>]*value="stop"[^>]*>/.exec(rowOf(body, name))![0];
    const page = await c.get('/');
    expect(stopButton(page.body, 'base')).toBe(
      '<button type="submit" name="action" value="stop" disabled title="admin serves this page and requires relay, which requires base: stopping base stops it too; use hearth stop base from a terminal." aria-label="stop base">',
    );
    expect(stopButton(page.body, 'relay')).toContain(' disabled title="admin serves this page and requires relay: stopping relay stops it too;');
    expect(textOf(rowOf(page.body, 'relay'))).toContain('not stopped from here: admin requires it');
    // What the page does not require keeps its button.
    expect(stopButton(page.body, 'db')).toBe('<button type="submit" name="action" value="stop" aria-label="stop db">');
    expect(textOf(rowOf(page.body, 'db'))).not.toContain('not stopped from here');
    const live = await c.events('/live/services', (events) => events.length >= 1);
    expect(stopButton(live.events[0]!.data, 'base')).toContain(' disabled title="admin serves this page and requires relay, which requires base:');
  });

  it('shows each service stopped with the one stopped, and those a start leaves stopped', async () => {
    const stopped = await c.submit('/services', { name: 'db', action: 'stop' }, await c.get('/'));
    expect(textOf(stopped.body)).toContain('stop db: stopped. Stopped first, as they require db: web: stopped (requires db)');
    expect(await a.up.service('web')).toMatchObject({ state: 'stopped', reason: 'stopped with db: it requires db' });
    const started = await c.submit('/services', { name: 'db', action: 'start' }, stopped);
    const db = await a.up.service('db');
    expect(textOf(started.body)).toContain(`start db: running, pid ${db.pid}. Still stopped, requires db: web.`);
    const restarted = await c.submit('/services', { name: 'db', action: 'restart' }, started);
    expect(textOf(restarted.body)).toMatch(/restart db: running, pid \d+\. Still stopped, requires db: web\./);
    const web = await c.submit('/services', { name: 'web', action: 'start' }, restarted);
    expect(textOf(web.body)).toMatch(/start web: running, pid \d+\. Services/);
  });

  it('shows the services held back for the one it starts, started with it', async () => {
    const good = readFileSync(a.up.configFile, 'utf8');
    const fixed = join(a.up.data, 'gate-fixed');
    // gate exits 78 (not restarted) until fixed exists; held, added with it, waits for it.
    a.up.writeConfig(`${good}  gate:\n    command: [sh, -c, "test -e ${fixed} || exit 78; exec sleep 1000"]\n    ready: { delay: 300ms }\n  held:\n    command: [sleep, "1000"]\n    requires: [gate]\n`);
    await c.submit('/reload', {}, await c.get('/'));
    await waitState(a.up, 'gate', 'failed');
    expect(await a.up.service('held')).toMatchObject({ state: 'stopped', reason: 'not started: it requires gate, which is failed' });
    writeFileSync(fixed, '');
    const started = await c.submit('/services', { name: 'gate', action: 'start' }, await c.get('/'));
    const gate = await a.up.service('gate');
    expect(textOf(started.body)).toContain(`start gate: running, pid ${gate.pid}. Started, no longer held back: held.`);
    expect((await a.up.service('held')).state).toBe('running');
    a.up.writeConfig(good);
    expect(textOf((await c.submit('/reload', {}, started)).body)).toContain('removed: gate, held');
  });

  it('shows why a service that exited is not started again, and why what requires it waits', async () => {
    const good = readFileSync(a.up.configFile, 'utf8');
    // once exits 0 before it is ready, under restart: never; after, added with it, is held back.
    a.up.writeConfig(`${good}  once:\n    command: [sh, -c, "exit 0"]\n    restart: never\n    ready: { delay: 300ms }\n  after:\n    command: [sleep, "1000"]\n    requires: [once]\n`);
    const reloaded = await c.submit('/reload', {}, await c.get('/'));
    expect(reloaded.status).toBe(200);
    await waitFor(async () => (await a.up.service('after')).reason === 'not started: it requires once, which exited', { what: 'after held back for once' });
    expect(await a.up.service('once')).toMatchObject({ state: 'stopped', reason: 'exited (exit code 0); restart: never does not start it again' });
    const page = await c.get('/');
    expect(rowOf(page.body, 'once')).toContain('<span class="state state-stopped">stopped</span><br><small>exited (exit code 0); restart: never does not start it again</small>');
    expect(rowOf(page.body, 'after')).toContain('<span class="state state-stopped">stopped</span><br><small>not started: it requires once, which exited</small>');
    a.up.writeConfig(good);
    expect(textOf((await c.submit('/reload', {}, page)).body)).toContain('removed: once, after');
  });

  it('reloads the config; a broken one is refused with each problem, file and line, and nothing changes', async () => {
    const good = readFileSync(a.up.configFile, 'utf8');
    const pid = (await a.up.service('biff')).pid;
    a.up.writeConfig(good.replace('service: biff', 'service: biff\n    settings: { bogus: 1 }').replace('port: 0, tls: true', 'port: 70000, tls: true'));
    const refused = await c.submit('/reload', {}, await c.get('/'));
    const text = textOf(refused.body);
    expect(text).toContain('The config was refused; nothing changed.');
    expect(refused.body).toMatch(new RegExp(`<li><code>${a.up.configFile.replace(/[.]/g, '\\.')}:\\d+:\\d+: services\\.biff\\.settings\\.bogus: unknown key &quot;bogus&quot;`));
    expect(refused.body).toMatch(/<li><code>[^<]*:\d+:\d+: services\.admin\.listen\.https\.port: /);
    expect((await a.up.service('biff')).pid).toBe(pid);
    a.up.writeConfig(good);
    const ok = await c.submit('/reload', {}, refused);
    expect(textOf(ok.body)).toContain('The config was reloaded: nothing changed.');
  });

  it('a reload leaves a stopped service stopped and says so', async () => {
    const good = readFileSync(a.up.configFile, 'utf8');
    await c.submit('/services', { name: 'biff', action: 'stop' }, await c.get('/'));
    a.up.writeConfig(good.replace('service: biff', 'service: biff\n    settings: { comsat: { maxSources: 100 } }'));
    const reloaded = await c.submit('/reload', {}, await c.get('/'));
    expect(textOf(reloaded.body)).toContain('The config was reloaded. updated, still stopped: biff');
    expect(await a.up.service('biff')).toMatchObject({ state: 'stopped', pid: null });
    a.up.writeConfig(good);
    expect(textOf((await c.submit('/reload', {}, reloaded)).body)).toContain('updated, still stopped: biff');
    expect((await c.submit('/services', { name: 'biff', action: 'start' }, reloaded)).status).toBe(200);
    await waitState(a.up, 'biff', 'running');
  });

  it('a reload that makes a running service require a stopped one shows it stopped, and why', async () => {
    const good = readFileSync(a.up.configFile, 'utf8');
    await c.submit('/services', { name: 'db', action: 'stop' }, await c.get('/'));
    a.up.writeConfig(good.replace('service: biff', 'service: biff\n    requires: [db]'));
    const reloaded = await c.submit('/reload', {}, await c.get('/'));
    expect(textOf(reloaded.body)).toContain('The config was reloaded. biff: stopped (requires db, which is stopped)');
    expect(await a.up.service('biff')).toMatchObject({ state: 'stopped', pid: null, reason: 'stopped by a reload: it requires db, which is stopped' });
    expect(rowOf(reloaded.body, 'biff')).toContain('stopped by a reload: it requires db, which is stopped');
    a.up.writeConfig(good);
  });

  it('a reload that makes a failed service require a stopped one shows it still failed, and why', async () => {
    const good = readFileSync(a.up.configFile, 'utf8');
    await c.submit('/services', { name: 'db', action: 'stop' }, await c.get('/'));
    const broken = (extra: string): string => `${good}  broken:\n    command: [sh, -c, "exit 78"]\n${extra}`;
    a.up.writeConfig(broken(''));
    await c.submit('/reload', {}, await c.get('/'));
    await waitState(a.up, 'broken', 'failed');
    a.up.writeConfig(broken('    requires: [db]\n'));
    const reloaded = await c.submit('/reload', {}, await c.get('/'));
    expect(textOf(reloaded.body)).toContain('The config was reloaded. broken: still failed (requires db, which is stopped)');
    expect(await a.up.service('broken')).toMatchObject({ state: 'failed', pid: null, requires: ['db'] });
    a.up.writeConfig(good);
    expect(textOf((await c.submit('/reload', {}, reloaded)).body)).toContain('removed: broken');
  });
});
