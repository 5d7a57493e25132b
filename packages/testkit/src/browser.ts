/**
 * A real browser for tests and benchmarks (export `./browser`): Debian's chromium
 * (`/usr/bin/chromium`, installed by scripts/install-test-clients.mjs) driven headless by
 * playwright-core, which downloads nothing. One browser per test file; pages share one context
 * (its cookies), and a fresh context gives a second, separate user.
 *
 * Certificates are not checked (the suite's self-signed one); screenshots go to
 * `test-artifacts/<group>/` at the repository root (git-ignored). Every page records what the
 * browser reported as errors (script errors, CSP violations, failed loads) in `problems`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

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
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`script: ${e.message}`));
    return page;
  };
  const newContext = (): Promise<BrowserContext> => browser.newContext({ baseURL: options.baseURL, ignoreHTTPSErrors: true });
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
