/**
 * The browser helper: Debian's chromium through playwright-core opens an HTTPS page with a
 * self-signed certificate, reports the errors the page causes (a CSP violation) and writes a
 * screenshot.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '@hearth/testkit';
import { ARTIFACTS_DIR, openBrowser, type TestBrowser } from '@hearth/testkit/browser';

let dir: TempDir;
let server: Server;
let browser: TestBrowser;

const PAGE = `<!doctype html><html><head><title>helper</title></head><body><h1>hello</h1>
<label for="n">Name</label><input id="n"><script>document.title = 'ran'</script></body></html>`;

beforeAll(async () => {
  dir = await makeTempDir();
  const key = join(dir.path, 'key.pem');
  const cert = join(dir.path, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => {
    // The inline script is refused by this policy: the browser reports it.
    res.writeHead(200, { 'content-type': 'text/html', 'content-security-policy': "script-src 'self'" });
    res.end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  browser = await openBrowser({ baseURL: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, group: 'testkit-browser' });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  await dir?.remove();
});

describe('openBrowser', () => {
  it('opens a self-signed HTTPS page, reports a CSP violation and writes a screenshot', async () => {
    const shot = join(ARTIFACTS_DIR, 'testkit-browser', 'hello.png');
    rmSync(shot, { force: true });
    await browser.page.goto('/');
    await browser.page.getByRole('heading', { name: 'hello' }).waitFor();
    expect(await browser.page.title()).toBe('helper');
    await expect.poll(() => browser.problems.join('\n')).toMatch(/Content Security Policy/);
    expect(await browser.page.getByLabel('Name').count()).toBe(1);
    expect(await browser.screenshot('hello')).toBe(shot);
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
  });

  it('gives a second context its own cookies', async () => {
    await browser.context.addCookies([{ name: 'a', value: '1', url: browser.page.url() }]);
    const other = await browser.newPage();
    expect(await other.context().cookies()).toEqual([]);
    expect(existsSync(ARTIFACTS_DIR)).toBe(true);
  });
});
