/**
 * The admin page in a real browser: page weight (bytes transferred, requests) and time to first
 * contentful paint of Hearth's dashboard (signed in) and sign-in page, next to Cockpit's login
 * page (Debian cockpit-ws, on loopback, no TLS) in the same run, each loaded cold (a fresh
 * browser context: no cache, no connection reuse) RUNS times in Debian's chromium; the admin
 * service's idle memory as `hearth status` shows it (RSS of its process group, and its standby's).
 *
 *   node bench/admin/run.mjs [--runs 10]
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { openBrowser } from '@hearth/testkit/browser';
import { addUsers, openAccounts, startSuite } from '@hearth/testkit/suite';
import { memoryOf } from '../lib/processes.mjs';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const RUNS = Number(values.runs);
const COCKPIT_WS = '/usr/lib/cockpit/cockpit-ws';
const ADMIN = { name: 'boss', password: 'bench-admin-pw' };

async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** The whole suite on free loopback ports, as `hearth up` runs it by default, admin included. */
async function suiteConfig() {
  const p = {};
  for (const k of ['mx', 'submission', 'smtps', 'pop3', 'pop3s', 'comsat', 'snmp', 'http', 'https', 'admin']) p[k] = await freePort();
  const l = (name, port, extra = '') => `${name}: { address: 127.0.0.1, port: ${port}${extra} }`;
  const yaml = `services:
  biff: { service: biff, listen: { ${l('comsat', p.comsat, ', protocol: udp')} } }
  smtp: { service: smtp, listen: { ${l('mx', p.mx)}, ${l('submission', p.submission)}, ${l('smtps', p.smtps, ', tls: true')} } }
  pop3: { service: pop3, listen: { ${l('pop3', p.pop3)}, ${l('pop3s', p.pop3s, ', tls: true')} } }
  snmp: { service: snmp, listen: { ${l('snmp', p.snmp, ', protocol: udp')} } }
  files: { service: files, listen: { ${l('http', p.http)}, ${l('https', p.https, ', tls: true')} } }
  admin: { service: admin, listen: { ${l('https', p.admin, ', tls: true')} } }
`;
  return { yaml, adminPort: p.admin };
}

/** One cold load of `path` in a fresh context: bytes and requests by the load event, first contentful paint. */
async function coldLoad(tb, baseURL, path, storageState) {
  const context = await tb.browser.newContext({ baseURL, ignoreHTTPSErrors: true, ...(storageState ? { storageState } : {}) });
  try {
    const page = await context.newPage();
    await page.goto(path, { waitUntil: 'load' });
    return await page.evaluate(async () => {
      const fcp = await new Promise((resolve) => {
        const seen = performance.getEntriesByName('first-contentful-paint')[0];
        if (seen) return resolve(seen.startTime);
        new PerformanceObserver((list, observer) => {
          const e = list.getEntriesByName('first-contentful-paint')[0];
          if (e) {
            observer.disconnect();
            resolve(e.startTime);
          }
        }).observe({ type: 'paint', buffered: true });
      });
      const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
      return { fcpMs: fcp, requests: entries.length, bytes: entries.reduce((n, e) => n + e.transferSize, 0) };
    });
  } finally {
    await context.close();
  }
}

async function measure(tb, baseURL, path, storageState) {
  await coldLoad(tb, baseURL, path, storageState); // warm the server, not the browser
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await coldLoad(tb, baseURL, path, storageState));
  return { fcpMs: median(runs.map((r) => r.fcpMs)), requests: median(runs.map((r) => r.requests)), bytes: median(runs.map((r) => r.bytes)) };
}

async function adminMemory(suite) {
  const row = (await suite.status()).find((r) => r.name === 'admin');
  return { rss: row.rssBytes, standby: row.standbyRssBytes };
}

/** cockpit-ws on loopback (no TLS: the page it serves is the same); undefined when not installed. */
async function startCockpit() {
  if (!existsSync(COCKPIT_WS)) return undefined;
  const port = await freePort();
  const proc = spawn(COCKPIT_WS, ['--no-tls', '--address', '127.0.0.1', '--port', String(port)], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/`)).ok) return { proc, url, version: execFileSync(COCKPIT_WS, ['--version'], { encoding: 'utf8' }).split('\n')[0] };
    } catch {
      await sleep(50);
    }
  }
  proc.kill();
  throw new Error('cockpit-ws did not answer');
}

const { yaml, adminPort } = await suiteConfig();
const suite = await startSuite(yaml, {
  async prepare(data) {
    await addUsers(data, [ADMIN.name], ADMIN.password);
    const accounts = await openAccounts(data);
    accounts.setAdmin(ADMIN.name, true);
    await accounts.close();
  },
  timeout: 60_000,
});
const cockpit = await startCockpit();
const hearthURL = `https://127.0.0.1:${adminPort}`;
const tb = await openBrowser({ baseURL: hearthURL, group: 'bench-admin' });
try {
  await sleep(3000); // let the suite settle (standbys spawn after start)
  const idleBefore = await adminMemory(suite);

  await tb.page.goto('/sign-in');
  await tb.page.getByLabel('User name').fill(ADMIN.name);
  await tb.page.getByLabel('Password').fill(ADMIN.password);
  await Promise.all([tb.page.waitForURL(`${hearthURL}/`), tb.page.getByRole('button', { name: 'Sign in' }).click()]);
  const signedIn = await tb.context.storageState();

  const dashboard = await measure(tb, hearthURL, '/', signedIn);
  const signIn = await measure(tb, hearthURL, '/sign-in');
  const peer = cockpit ? await measure(tb, cockpit.url, '/') : undefined;
  await sleep(3000);
  const idleAfter = await adminMemory(suite);
  const cockpitMem = cockpit ? memoryOf(cockpit.proc.pid) : undefined;

  const line = (name, m) => `${name.padEnd(34)} ${kib(m.bytes).padStart(11)} ${String(m.requests).padStart(9)} ${m.fcpMs.toFixed(0).padStart(9)}`;
  console.log(`chromium ${tb.browser.version()}, ${RUNS} cold loads each (medians)\n`);
  console.log(`${'page'.padEnd(34)} ${'transferred'.padStart(11)} ${'requests'.padStart(9)} ${'FCP ms'.padStart(9)}`);
  console.log(line('Hearth dashboard (signed in)', dashboard));
  console.log(line('Hearth sign-in', signIn));
  if (peer) {
    console.log(line(`Cockpit login (${cockpit.version})`, peer));
    const ratio = (a, b) => `${(a / b).toFixed(2)}x`;
    console.log(`\nHearth dashboard / Cockpit login: bytes ${ratio(dashboard.bytes, peer.bytes)}, requests ${ratio(dashboard.requests, peer.requests)}, FCP ${ratio(dashboard.fcpMs, peer.fcpMs)}`);
    console.log(`Hearth sign-in / Cockpit login:   bytes ${ratio(signIn.bytes, peer.bytes)}, requests ${ratio(signIn.requests, peer.requests)}, FCP ${ratio(signIn.fcpMs, peer.fcpMs)}`);
  } else console.log(`\n(no peer: ${COCKPIT_WS} is not installed; apt-get install cockpit-ws)`);
  const mem = (m) => `${mib(m.rss)}${m.standby ? ` (+ standby ${mib(m.standby)})` : ''}`;
  console.log(`\nadmin service RSS (its process group, as hearth status shows): idle at start ${mem(idleBefore)}, idle after the loads ${mem(idleAfter)}`);
  if (cockpitMem) console.log(`cockpit-ws RSS (one process, idle after the loads): ${mib(cockpitMem.rss * 1024)}`);
} finally {
  await tb.close();
  cockpit?.proc.kill();
  await suite.stop();
}
