/**
 * The admin page in a real browser: page weight (bytes transferred, requests) and time to first
 * contentful paint of Hearth's dashboard (signed in) and sign-in page, next to Cockpit's login
 * page (Debian cockpit-ws, on loopback, no TLS: its TLS needs cockpit-tls and a certificate in
 * /etc) in the same run, each loaded cold (a fresh browser context: no cache, no connection
 * reuse) RUNS times in turns in Debian's chromium; the connection time (TCP, and TLS for Hearth)
 * is given apart, and FCP counted from the end of it. Then the admin service's idle memory as
 * `hearth status` shows it (RSS of its process group, and its standby's). A floor (`floor.mjs`):
 * the sign-in page's own bytes from a bare node:https and node:http server, in the same turns.
 *
 *   node bench/admin/run.mjs [--runs 10]
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from '@hearth/testkit';
import { openBrowser } from '@hearth/testkit/browser';
import { addUsers, openAccounts, startSuite } from '@hearth/testkit/suite';
import { memoryOf } from '../lib/processes.mjs';
import { copyPages, startFloors } from './floor.mjs';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const RUNS = Number(values.runs);
const COCKPIT_WS = '/usr/lib/cockpit/cockpit-ws';
const ADMIN = { name: 'boss', password: 'bench-admin-pw' };

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** The whole suite on free loopback ports, as `hearth up` runs it by default, admin included. */
async function suiteConfig() {
  const p = {};
  const names = ['mx', 'submission', 'smtps', 'pop3', 'pop3s', 'comsat', 'snmp', 'http', 'https', 'admin'];
  const ports = await freePorts(names.map((k) => (k === 'comsat' || k === 'snmp' ? 'udp' : 'tcp')));
  names.forEach((k, i) => (p[k] = ports[i]));
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
      const nav = performance.getEntriesByType('navigation')[0];
      // Not the /favicon.ico Chromium asks for by itself (sometimes before the load event, sometimes after).
      const entries = [nav, ...performance.getEntriesByType('resource').filter((e) => new URL(e.name).pathname !== '/favicon.ico')];
      return {
        fcpMs: fcp,
        // TCP and, over HTTPS, TLS: Cockpit is measured without TLS, so FCP is also given from there.
        connectMs: nav.connectEnd - nav.connectStart,
        // The server's time to the first byte of the page (the dashboard asks the supervisor for its rows).
        ttfbMs: nav.responseStart - nav.requestStart,
        fcpAfterConnectMs: fcp - nav.connectEnd,
        requests: entries.length,
        bytes: entries.reduce((n, e) => n + e.transferSize, 0),
      };
    });
  } finally {
    await context.close();
  }
}

const FIGURES = ['bytes', 'requests', 'connectMs', 'ttfbMs', 'fcpMs', 'fcpAfterConnectMs'];

/**
 * RUNS cold loads of each target, taken in turns (so the load of a shared machine falls on all of
 * them alike), after one warm-up load each; the median of each figure.
 */
async function measureAll(tb, targets) {
  for (const t of targets) await coldLoad(tb, t.baseURL, t.path, t.storageState); // warm the servers, not the browser
  const runs = targets.map(() => []);
  for (let i = 0; i < RUNS; i++) for (const [k, t] of targets.entries()) runs[k].push(await coldLoad(tb, t.baseURL, t.path, t.storageState));
  return runs.map((rs) => Object.fromEntries(FIGURES.map((f) => [f, median(rs.map((r) => r[f]))])));
}

async function adminMemory(suite) {
  const row = (await suite.status()).find((r) => r.name === 'admin');
  return { rss: row.rssBytes, standby: row.standbyRssBytes };
}

/** cockpit-ws on loopback (no TLS: the page it serves is the same); undefined when not installed. */
async function startCockpit() {
  if (!existsSync(COCKPIT_WS)) return undefined;
  const [port] = await freePorts(['tcp']);
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
let floors;
try {
  await sleep(3000); // let the suite settle (standbys spawn after start)
  const idleBefore = await adminMemory(suite);

  await tb.page.goto('/sign-in');
  await tb.page.getByLabel('User name').fill(ADMIN.name);
  await tb.page.getByLabel('Password').fill(ADMIN.password);
  await Promise.all([tb.page.waitForURL(`${hearthURL}/`), tb.page.getByRole('button', { name: 'Sign in' }).click()]);
  const signedIn = await tb.context.storageState();

  const anonymous = await tb.browser.newContext({ ignoreHTTPSErrors: true });
  floors = await startFloors(await copyPages(anonymous.request, hearthURL), suite.data);
  await anonymous.close();
  const targets = [
    { name: 'Hearth dashboard (signed in)', baseURL: hearthURL, path: '/', storageState: signedIn },
    { name: 'Hearth sign-in', baseURL: hearthURL, path: '/sign-in' },
    ...(cockpit ? [{ name: `Cockpit login (${cockpit.version.replace(/^Version: /, '')}, no TLS)`, baseURL: cockpit.url, path: '/' }] : []),
    { name: 'same sign-in bytes, bare node:https', baseURL: floors.httpsURL, path: '/sign-in' },
    { name: 'same sign-in bytes, bare node:http', baseURL: floors.httpURL, path: '/sign-in' },
  ];
  const results = await measureAll(tb, targets);
  await sleep(3000);
  const idleAfter = await adminMemory(suite);
  const cockpitMem = cockpit ? memoryOf(cockpit.proc.pid) : undefined;

  const cols = ['transferred', 'requests', 'connect ms', 'TTFB ms', 'FCP ms', 'FCP after connect ms'];
  console.log(`chromium ${tb.browser.version()}, ${RUNS} cold loads each, in turns (medians)\n`);
  console.log(`${'page'.padEnd(40)} ${cols.map((c) => c.padStart(c.length > 12 ? c.length : 12)).join(' ')}`);
  for (const [k, t] of targets.entries()) {
    const m = results[k];
    const cells = [kib(m.bytes), String(m.requests), m.connectMs.toFixed(1), m.ttfbMs.toFixed(1), m.fcpMs.toFixed(0), m.fcpAfterConnectMs.toFixed(0)];
    console.log(`${t.name.padEnd(40)} ${cells.map((c, i) => c.padStart(cols[i].length > 12 ? cols[i].length : 12)).join(' ')}`);
  }
  if (cockpit) {
    const peer = results[targets.findIndex((t) => t.name.startsWith('Cockpit'))];
    const ratio = (a, b) => `${(a / b).toFixed(2)}x`;
    for (const k of [0, 1]) {
      const m = results[k];
      console.log(`${k === 0 ? '\n' : ''}${targets[k].name} / Cockpit login: bytes ${ratio(m.bytes, peer.bytes)}, requests ${ratio(m.requests, peer.requests)}, FCP ${ratio(m.fcpMs, peer.fcpMs)}, FCP after connect ${ratio(m.fcpAfterConnectMs, peer.fcpAfterConnectMs)}`);
    }
  } else console.log(`\n(no peer: ${COCKPIT_WS} is not installed; apt-get install cockpit-ws)`);
  const mem = (m) => `${mib(m.rss)}${m.standby ? ` (+ standby ${mib(m.standby)})` : ''}`;
  console.log(`\nadmin service RSS (its process group, as hearth status shows): idle at start ${mem(idleBefore)}, idle after the loads ${mem(idleAfter)}`);
  if (cockpitMem) console.log(`cockpit-ws RSS (one process, idle after the loads): ${mib(cockpitMem.rss * 1024)}`);
} finally {
  await tb.close();
  await floors?.close();
  cockpit?.proc.kill();
  await suite.stop();
}
