/**
 * The admin page in Debian's chromium under a real `hearth up`: the suite (admin, smtp, biff) on
 * ephemeral loopback ports with one administrator made before the start, one browser per test
 * file, and checks every page must pass (labels in the accessibility tree, keyboard reach).
 */
import { join } from 'node:path';
import type { Page } from '@hearth/testkit/browser';
import { makeTempDir } from '@hearth/testkit';
import { openBrowser, type TestBrowser } from '@hearth/testkit/browser';
import { startUp, waitState, type Up } from '@hearth/testkit/hearth-up';
import { addUsers, openAccounts } from '@hearth/testkit/suite';

export const ADMIN = { name: 'boss', password: 'boss-password-1' } as const;

export interface BrowserSuite {
  readonly up: Up;
  readonly tb: TestBrowser;
  readonly page: Page;
  readonly adminPort: number;
  readonly mxPort: number;
  /** The config as started; tests that change it put it back. */
  readonly yaml: string;
  close(): Promise<void>;
}

export function suiteConfig(): string {
  return `services:
  admin:
    service: admin
    standby: false
    listen: { https: { port: 0, tls: true } }
    settings: { loginFailureDelay: 10ms, liveInterval: 200ms }
  biff:
    service: biff
    standby: false
    listen: { comsat: { protocol: udp, port: 0 } }
  smtp:
    service: smtp
    standby: false
    listen: { mx: { port: 0 } }
`;
}

/** Starts the suite with ADMIN as an administrator, and a browser on the admin listener. */
export async function startBrowserSuite(group: string): Promise<BrowserSuite> {
  const dir = await makeTempDir('hearth-browser-');
  const data = join(dir.path, 'data');
  await addUsers(data, [ADMIN.name], ADMIN.password);
  const accounts = await openAccounts(data);
  accounts.setAdmin(ADMIN.name, true);
  await accounts.close();
  const yaml = suiteConfig();
  const up = await startUp(yaml, { dir });
  try {
    const admin = await waitState(up, 'admin', 'running', 20_000);
    const smtp = await waitState(up, 'smtp', 'running', 20_000);
    await waitState(up, 'biff', 'running', 20_000);
    const adminPort = admin.listeners[0]!.port;
    const tb = await openBrowser({ baseURL: `https://127.0.0.1:${adminPort}`, group });
    return {
      up,
      tb,
      page: tb.page,
      adminPort,
      mxPort: smtp.listeners.find((l) => l.name === 'mx')!.port,
      yaml,
      async close() {
        await tb.close();
        await up.stop();
      },
    };
  } catch (error) {
    await up.stop();
    throw error;
  }
}

/** Signs in through the form, as a person would; resolves on the page it leads to. */
export async function signIn(page: Page, name: string, password: string): Promise<void> {
  await page.goto('/sign-in');
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await Promise.all([page.waitForURL((url) => url.pathname !== '/sign-in'), page.getByRole('button', { name: 'Sign in' }).click()]);
}

/**
 * Form fields (inputs other than hidden ones and buttons, selects, text areas) whose role in the
 * accessibility tree has no name, as the browser computes it (a `<label>`, aria-label or
 * aria-labelledby): each as its ARIA snapshot line or its HTML. Fields inside closed `<details>`
 * are checked too.
 */
export async function unlabelledFields(page: Page): Promise<string[]> {
  // Fields in a closed <details> are not in the tree: open each for the check, then close it again.
  const opened = (await page.evaluate(`[...document.querySelectorAll('details:not([open])')].map((d, i) => { d.open = true; d.dataset.checkOpened = String(i); return i; })`)) as number[];
  const fields = page.locator('input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea');
  const problems: string[] = [];
  try {
    for (const field of await fields.all()) {
      const snapshot = (await field.ariaSnapshot()).split('\n')[0]!;
      // `- textbox "User name"`: a role and a quoted name; without a name there are no quotes.
      if (!/^- \w+ "[^"]+"/.test(snapshot)) problems.push(`${snapshot} ${await field.evaluate((el) => el.outerHTML)}`);
    }
  } finally {
    if (opened.length > 0) await page.evaluate(`document.querySelectorAll('details[data-check-opened]').forEach((d) => { d.open = false; delete d.dataset.checkOpened; })`);
  }
  return problems;
}

/** In the page: an element as `tag#id name` (its aria-label, its text or its name attribute). */
const DESCRIBE = `(el) => {
  const name = el.getAttribute('aria-label') ?? (el.textContent ?? '').trim().replace(/\\s+/g, ' ');
  return (el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' ' + (name || el.name || '')).trim();
}`;

/**
 * Puts the keyboard at the top of the page, as after a fresh load: the next Tab goes to the first
 * control. (A blur alone leaves Chromium's starting point where the focus was.) A focusable-by-script
 * marker is put first in the body and focused; `tabOrder` and the tests then press Tab.
 */
export async function focusTop(page: Page): Promise<void> {
  await page.evaluate(`(() => {
    let marker = document.getElementById('test-focus-top');
    if (!marker) {
      marker = document.createElement('span');
      marker.id = 'test-focus-top';
      marker.tabIndex = -1;
      document.body.prepend(marker);
    }
    marker.focus();
  })()`);
}

/** Presses Tab until `target` (as `tabOrder` names it) has the focus, from the top of the page. */
export async function tabTo(page: Page, target: string): Promise<void> {
  const order = await tabOrder(page);
  const index = order.indexOf(target);
  if (index < 0) throw new Error(`Tab never reaches ${target}: ${JSON.stringify(order)}`);
  await focusTop(page);
  for (let i = 0; i <= index; i++) await page.keyboard.press('Tab');
}

/** What Tab reaches, in order, from the top of the page until focus leaves it or comes round. */
export async function tabOrder(page: Page, limit = 200): Promise<string[]> {
  await focusTop(page);
  const seen: string[] = [];
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(`(() => { const el = document.activeElement; return !el || el === document.body ? null : (${DESCRIBE})(el); })()`);
    if (id === null || seen[0] === id) break;
    seen.push(String(id));
  }
  return seen;
}

/** Every element a keyboard user must reach on the page (visible links, enabled controls, summaries), described as `tabOrder` does. */
export async function focusables(page: Page): Promise<string[]> {
  const selector = 'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), summary';
  // Inside a closed <details> only its summary can take focus.
  return (await page.evaluate(`[...document.querySelectorAll(${JSON.stringify(selector)})]
    .filter((el) => el.getClientRects().length > 0 || el.classList.contains('skip'))
    .filter((el) => { const closed = el.closest('details:not([open])'); return !closed || el.parentElement === closed && el.tagName === 'SUMMARY'; })
    .map(${DESCRIBE})`)) as string[];
}
