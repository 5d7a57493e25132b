/**
 * The dashboard in Debian's chromium under a real `hearth up`: sign in through the form, restart
 * a service and see it running again under a new pid, stop one and start it, the table following
 * a stop made from the terminal without a reload (live), a broken config refused with its problem
 * named, keyboard-only use, labelled fields, sign-out. Screenshots in test-artifacts/admin-dashboard/.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN, focusables, signIn, startBrowserSuite, tabOrder, tabTo, unlabelledFields, type BrowserSuite } from './harness.js';

// A browser and a suite on two shared cores: steps take seconds when the machine is loaded.
vi.setConfig({ testTimeout: 60_000 });

let s: BrowserSuite;

beforeAll(async () => {
  s = await startBrowserSuite('admin-dashboard');
}, 60_000);
afterAll(async () => {
  await s?.close();
});

const row = (name: string) => s.page.locator(`tr[data-service="${name}"]`);
const stateOf = (name: string) => row(name).locator('.state');

describe('the dashboard in a browser', () => {
  it('signs in through the form and shows every service with its state', async () => {
    // Everything a page asks for is there.
    const failed: string[] = [];
    s.page.on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${new URL(r.url()).pathname}`);
    });
    await s.page.goto('/');
    await s.page.waitForURL('**/sign-in');
    await s.tb.screenshot('sign-in');
    expect(await unlabelledFields(s.page)).toEqual([]);
    await signIn(s.page, ADMIN.name, ADMIN.password);
    await s.page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
    for (const name of ['admin', 'biff', 'smtp']) await stateOf(name).filter({ hasText: /^running$/ }).waitFor();
    const smtp = await s.up.service('smtp');
    expect(await row('smtp').textContent()).toContain(String(smtp.pid));
    await s.tb.screenshot('dashboard');
    expect(failed).toEqual([]);
    // The page names its icon (a browser without one asks for /favicon.ico, a 404), and it loads.
    const icon = await s.page.locator('link[rel="icon"]').getAttribute('href');
    expect(icon).toBe('/static/favicon.svg');
    const loaded = await s.page.evaluate(async (href) => {
      const r = await fetch(href);
      return { status: r.status, type: r.headers.get('content-type'), svg: (await r.text()).startsWith('<svg') };
    }, icon!);
    expect(loaded).toEqual({ status: 200, type: 'image/svg+xml', svg: true });
  });

  it('restarts a service: its row shows it running again under a new pid', async () => {
    const before = await s.up.service('smtp');
    await s.page.getByRole('button', { name: 'restart smtp', exact: true }).click();
    const notice = s.page.getByRole('status').filter({ hasText: /restart smtp: running, pid \d+/ });
    await notice.waitFor();
    const after = await s.up.service('smtp');
    expect(after.state).toBe('running');
    expect(after.pid).not.toBe(before.pid);
    expect(await notice.textContent()).toContain(`pid ${after.pid}`);
    await stateOf('smtp').filter({ hasText: /^running$/ }).waitFor();
    await row('smtp').filter({ hasText: String(after.pid) }).waitFor();
    await s.tb.screenshot('dashboard-restarted');
  });

  it('stops a service and starts it again with the buttons', async () => {
    await s.page.getByRole('button', { name: 'stop smtp', exact: true }).click();
    await s.page.getByRole('status').filter({ hasText: 'stop smtp: stopped' }).waitFor();
    await stateOf('smtp').filter({ hasText: /^stopped$/ }).waitFor();
    expect((await s.up.service('smtp')).state).toBe('stopped');
    expect(await s.page.getByRole('button', { name: 'stop smtp', exact: true }).isDisabled()).toBe(true);
    await s.tb.screenshot('dashboard-stopped');
    await s.page.getByRole('button', { name: 'start smtp', exact: true }).click();
    await s.page.getByRole('status').filter({ hasText: /start smtp: running/ }).waitFor();
    await stateOf('smtp').filter({ hasText: /^running$/ }).waitFor();
    expect((await s.up.service('smtp')).state).toBe('running');
  });

  it('follows a stop made from the terminal without reloading the page (live)', async () => {
    await s.page.evaluate(() => ((globalThis as unknown as { loadedOnce: number }).loadedOnce = 1));
    expect((await s.up.cli('stop', 'biff')).code).toBe(0);
    await stateOf('biff').filter({ hasText: /^stopped$/ }).waitFor();
    expect((await s.up.cli('start', 'biff')).code).toBe(0);
    await stateOf('biff').filter({ hasText: /^running$/ }).waitFor();
    // Still the same document: the rows came over the live stream.
    expect(await s.page.evaluate(() => (globalThis as unknown as { loadedOnce?: number }).loadedOnce)).toBe(1);
  });

  it('names the problem of a broken config on reload, and changes nothing', async () => {
    s.up.writeConfig(s.yaml.replace('    settings: { loginFailureDelay', '    setings: { loginFailureDelay'));
    try {
      await s.page.getByRole('button', { name: 'Reload the config' }).click();
      const alert = s.page.getByRole('alert').filter({ hasText: 'The config was refused' });
      await alert.waitFor();
      const text = (await alert.textContent()) ?? '';
      // File, line and column, the key's path, and the suggestion.
      expect(text).toMatch(/hearth\.yaml:6:\d+: services\.admin\.setings: unknown key "setings" \(did you mean "settings"\?\)/);
      await s.tb.screenshot('reload-refused');
    } finally {
      s.up.writeConfig(s.yaml);
    }
    expect((await s.up.service('admin')).state).toBe('running');
  });

  it('every form field has a name in the accessibility tree', async () => {
    await s.page.goto('/');
    expect(await unlabelledFields(s.page)).toEqual([]);
  });

  it('can be used with the keyboard alone: Tab reaches every control in order, Enter acts', async () => {
    await s.page.goto('/');
    await stateOf('smtp').filter({ hasText: /^running$/ }).waitFor();
    const order = await tabOrder(s.page);
    expect(order[0]).toMatch(/^a Skip to content$/);
    expect(order).toEqual(await focusables(s.page));
    // A restart by keyboard: Tab to the button, Enter.
    const before = await s.up.service('smtp');
    await tabTo(s.page, 'button restart smtp');
    expect(await s.page.evaluate(() => (globalThis as unknown as { document: { activeElement: { getAttribute(n: string): string | null } } }).document.activeElement.getAttribute('aria-label'))).toBe('restart smtp');
    await s.page.keyboard.press('Enter');
    await s.page.getByRole('status').filter({ hasText: /restart smtp: running/ }).waitFor();
    expect((await s.up.service('smtp')).pid).not.toBe(before.pid);
  });

  it('signs in with the keyboard alone', async () => {
    const page = await s.tb.newPage();
    await page.goto('/sign-in');
    const order = await tabOrder(page);
    expect(order).toEqual(await focusables(page));
    await tabTo(page, 'input#name name');
    await page.keyboard.type(ADMIN.name);
    await page.keyboard.press('Tab');
    await page.keyboard.type(ADMIN.password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
    await page.context().close();
  });

  it('signs out: the dashboard asks for a sign-in again', async () => {
    await s.page.goto('/');
    await s.page.getByRole('button', { name: 'Sign out' }).click();
    await s.page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await s.page.goto('/');
    await s.page.waitForURL('**/sign-in');
    expect(s.tb.problems).toEqual([]);
  });
});
