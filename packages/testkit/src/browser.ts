/**
 * A real browser for tests and benchmarks (export `./browser`): Debian's chromium
 * (`/usr/bin/chromium`, installed by scripts/install-test-clients.mjs) driven headless by
 * playwright-core, which downloads nothing. One browser per test file; pages share one context
 * (its cookies), and a fresh context gives a second, separate user.
 *
 * Certificates are not checked (the suite's self-signed one); screenshots go to
 * `test-artifacts/<group>/` at the repository root (git-ignored). Every page records what the
 * browser reported as errors (script errors, CSP violations, answers of 400 and up but a
 * /favicon.ico the browser asked for by itself, failed requests) in `problems`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export type { Browser, BrowserContext, Locator, Page } from 'playwright-core';

/** Debian's browser. */
export const CHROMIUM = '/usr/bin/chromium';
/** Where screenshots are written (git-ignored). */
export const ARTIFACTS_DIR = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));

export interface BrowserOptions {
  /** Relative `page.goto` paths resolve against it (`https://127.0.0.1:PORT`). */
  readonly baseURL: string;
  /** Screenshots go to ARTIFACTS_DIR/group. */
  readonly group: string;
}

export interface TestBrowser {
  readonly browser: Browser;
  /** The first context and its page (most tests need no more). */
  readonly context: BrowserContext;
  readonly page: Page;
  /** Errors the browser reported on any page made here: console errors and uncaught exceptions. */
  readonly problems: string[];
  /** A new, separate context (its own cookies) with one page. */
  newPage(): Promise<Page>;
  /** Writes a full-page screenshot of `page` (default: the first page) as `name.png`; returns its path. */
  screenshot(name: string, page?: Page): Promise<string>;
  close(): Promise<void>;
}

/** As root (our machines, CI) Chromium's sandbox cannot start: it must be off there. */
function launchArgs(): string[] {
  return process.getuid?.() === 0 ? ['--no-sandbox'] : [];
}

/** Launches headless chromium with one context and page on `baseURL`. */
export async function openBrowser(options: BrowserOptions): Promise<TestBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: launchArgs() });
  const problems: string[] = [];
  const dir = join(ARTIFACTS_DIR, options.group);
  mkdirSync(dir, { recursive: true });

  const watch = (page: Page): Page => {
    page.on('console', (m) => {
      // A failed load is reported below with its URL.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`script: ${e.message}`));
    page.on('response', (r) => {
      // Chromium asks for /favicon.ico by itself; a page that links none is not at fault.
      if (r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico') problems.push(`${r.status()} ${r.request().method()} ${r.url()}`);
    });
    page.on('requestfailed', (r) => {
      // A navigation cancels what the page had open (a live stream): that is no failure.
      const why = r.failure()?.errorText ?? '';
      if (why !== 'net::ERR_ABORTED') problems.push(`failed ${r.method()} ${r.url()}: ${why}`);
    });
    return page;
  };
  const newContext = async (): Promise<BrowserContext> => {
    const context = await browser.newContext({ baseURL: options.baseURL, ignoreHTTPSErrors: true });
    // Under a test's own timeout, so a wait that fails names its locator.
    context.setDefaultTimeout(15_000);
    return context;
  };
  try {
    const context = await newContext();
    const page = watch(await context.newPage());
    return {
      browser,
      context,
      page,
      problems,
      async newPage() {
        return watch(await (await newContext()).newPage());
      },
      async screenshot(name, shot = page) {
        const path = join(dir, `${name}.png`);
        await shot.screenshot({ path, fullPage: true });
        return path;
      },
      close: () => browser.close(),
    };
  } catch (err) {
    await browser.close();
    throw err;
  }
}
