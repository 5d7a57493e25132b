/**
 * The users and logs pages in Debian's chromium under a real `hearth up`: add a user and see it
 * listed, reset its password and sign in as that user in a second browser context (the old
 * password refused) on her own page, the live log tail showing smtp's line for a delivery made
 * with swaks, then every page by keyboard alone with its fields labelled. Screenshots in test-artifacts/admin-users-logs/.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN, focusables, signIn, startBrowserSuite, tabOrder, tabTo, unlabelledFields, type BrowserSuite } from './harness.js';

// A browser and a suite on two shared cores: steps take seconds when the machine is loaded.
vi.setConfig({ testTimeout: 60_000 });

let s: BrowserSuite;
const CAROL = { name: 'carol', first: 'carol-first-pw-1', second: 'carol-second-pw-2' };

beforeAll(async () => {
  s = await startBrowserSuite('admin-users-logs');
  await signIn(s.page, ADMIN.name, ADMIN.password);
}, 60_000);
afterAll(async () => {
  await s?.close();
});

/** The browser reported this failed answer (one the test caused on purpose): checked, then dropped. */
function expectProblem(re: RegExp): void {
  const i = s.tb.problems.findIndex((p) => re.test(p));
  expect(i, `${re} in ${JSON.stringify(s.tb.problems)}`).toBeGreaterThanOrEqual(0);
  s.tb.problems.splice(i, 1);
}

/** One message to `to` through smtp's MX listener, sent by swaks. */
function swaks(to: string, subject: string): Promise<string> {
  const args = ['--server', `127.0.0.1:${s.mxPort}`, '--to', to, '--from', 'sender@example.org', '--header', `Subject: ${subject}`, '--body', 'hello from the browser test'];
  return new Promise((resolve, reject) => execFile('swaks', args, (err, stdout, stderr) => (err ? reject(new Error(`swaks: ${stderr || stdout}`)) : resolve(stdout))));
}

describe('the users page in a browser', () => {
  it('adds a user, who is then listed', async () => {
    await s.page.goto('/users');
    await s.page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    expect(await unlabelledFields(s.page)).toEqual([]);
    const add = s.page.locator('form[action="/users/add"]');
    await add.getByLabel('User name').fill(CAROL.name);
    await add.getByLabel('Password').fill(CAROL.first);
    await add.getByRole('button', { name: 'Add user' }).click();
    await s.page.getByRole('status').filter({ hasText: `Added user ${CAROL.name}.` }).waitFor();
    const row = s.page.locator(`tr[data-user="${CAROL.name}"]`);
    await row.getByRole('rowheader', { name: CAROL.name }).waitFor();
    expect(await s.page.getByRole('heading', { level: 2, name: '2 users' }).count()).toBe(1);
    expect((await s.up.cli('user', 'list')).stdout).toMatch(new RegExp(`^${CAROL.name} `, 'm'));
    await s.tb.screenshot('users');
  });

  it('resets the password; the user signs in with the new one, not the old', async () => {
    const row = s.page.locator(`tr[data-user="${CAROL.name}"]`);
    await row.getByText(`Manage ${CAROL.name}`).click();
    expect(await unlabelledFields(s.page)).toEqual([]);
    await row.getByLabel(`New password for ${CAROL.name}`).fill(CAROL.second);
    await s.tb.screenshot('users-manage');
    await row.getByRole('button', { name: 'Reset password' }).click();
    await s.page.getByRole('status').filter({ hasText: `Changed the password of ${CAROL.name}.` }).waitFor();

    const carol = await s.tb.newPage();
    await carol.goto('/sign-in');
    await carol.getByLabel('User name').fill(CAROL.name);
    await carol.getByLabel('Password').fill(CAROL.first);
    await carol.getByRole('button', { name: 'Sign in' }).click();
    await carol.getByRole('alert').filter({ hasText: 'Wrong user name or password.' }).waitFor();
    expectProblem(/^401 POST .*\/sign-in$/);
    await signIn(carol, CAROL.name, CAROL.second);
    // Not an administrator: her own page, and no way into the admin pages.
    expect(new URL(carol.url()).pathname).toBe('/me');
    await carol.getByRole('heading', { level: 1, name: 'My account' }).waitFor();
    await s.tb.screenshot('me', carol);
    expect(await unlabelledFields(carol)).toEqual([]);
    const users = await carol.goto('/users');
    expect(users?.status()).toBe(403);
    expectProblem(/^403 GET .*\/users$/);
    await carol.context().close();
  });
});

describe('the logs page in a browser', () => {
  it('shows a line in the live tail after an SMTP delivery', async () => {
    const live = s.page.waitForResponse((r) => new URL(r.url()).pathname === '/live/logs');
    await s.page.goto('/logs?service=smtp&level=info');
    await s.page.getByRole('heading', { level: 1, name: 'Logs' }).waitFor();
    expect((await live).status()).toBe(200);
    const delivered = s.page.locator('#log tr').filter({ hasText: 'message delivered' });
    const before = await delivered.count();
    expect(await swaks(`${ADMIN.name}@localhost`, 'live tail')).toMatch(/<- {2}250 /);
    // The new row comes over the stream: same document, one more delivery line.
    await delivered.nth(before).waitFor();
    expect(await delivered.nth(before).textContent()).toMatch(/smtp.*info.*message delivered.*recipients=1/);
    await s.tb.screenshot('logs-live');
  });

  it('filters by service and level with labelled fields, by keyboard alone', async () => {
    await s.page.goto('/logs');
    expect(await unlabelledFields(s.page)).toEqual([]);
    const order = await tabOrder(s.page);
    expect(order).toEqual(await focusables(s.page));
    await s.page.getByLabel('Service').focus();
    await s.page.keyboard.press('ArrowDown'); // the first service after "every service"
    const service = await s.page.getByLabel('Service').inputValue();
    expect(service).not.toBe('');
    await s.page.getByLabel('Least level').focus();
    await s.page.keyboard.press('End'); // fatal
    await s.page.getByLabel('Lines').focus();
    await s.page.keyboard.press('Enter');
    await s.page.waitForURL((url) => url.searchParams.get('level') === 'fatal' && url.searchParams.get('service') === service);
    await s.tb.screenshot('logs-filtered');
  });

  it('goes from page to page by keyboard (Tab to a link, Enter); each page reachable and labelled', async () => {
    for (const name of ['Users', 'Shares', 'Logs', 'My account', 'Dashboard']) {
      await tabTo(s.page, `a ${name}`);
      await s.page.keyboard.press('Enter');
      await s.page.getByRole('heading', { level: 1, name }).waitFor();
      expect({ name, unlabelled: await unlabelledFields(s.page) }).toEqual({ name, unlabelled: [] });
      expect(await tabOrder(s.page)).toEqual(await focusables(s.page));
      await s.tb.screenshot(`page-${name.toLowerCase().replace(' ', '-')}`);
    }
    expect(s.tb.problems).toEqual([]);
  });
});
