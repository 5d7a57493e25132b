#!/usr/bin/env node
/**
 * Hearth's POP3 server alone, for profiling: the server runs in a child process (no supervisor)
 * over a store built like run.mjs builds it (64 users with 1,000 x 10 KB and 5 x 1 MB), and this
 * process drives full sessions at each concurrency. Pass node flags for the server after `--`.
 *
 *   node bench/pop3/profile.mjs [--seconds 5] [--concurrency 1,16,64] [--dir DIR] [-- --cpu-prof --cpu-prof-dir=prof]
 *
 * The store is built once in DIR (default: a temporary folder, removed afterwards unless --dir).
 */
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { fullSession, login, pickMessages } from './client.mjs';
import { buildStore, makeMessages, PASSWORD } from './setup.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const dist = (path) => pathToFileURL(join(ROOT, path)).href;

if (process.argv[2] === '--serve') {
  // The server process: print the port, stop on 'stop'.
  const { createServer } = await import('node:net');
  const { openSync } = await import('node:fs');
  const { openMailStore } = await import(dist('packages/mail-store/dist/index.js'));
  const { openSuiteAccounts } = await import(dist('packages/accounts/dist/index.js'));
  const { createLogger } = await import(dist('packages/log/dist/index.js'));
  const { createPop3Server, defaultSettings, storeBacking } = await import(dist('services/pop3/dist/index.js'));
  const store = await openMailStore({ dir: process.argv[3] });
  const accounts = await openSuiteAccounts(dirname(process.argv[3]));
  const pop3 = createPop3Server({
    backing: storeBacking(store, accounts),
    tls: () => undefined,
    settings: { ...defaultSettings(), maxConnections: 1000, maxConnectionsPerIp: 1000 },
    log: createLogger({ svc: 'pop3', level: 'info', destination: openSync(process.argv[4], 'a') }),
  });
  const server = createServer((socket) => pop3.handle(socket, { implicitTls: false }));
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('message', async () => {
    server.close();
    await pop3.stop(Date.now() + 1000);
    await store.close();
    process.exit(0);
  });
} else {
  const dashdash = process.argv.indexOf('--');
  const nodeFlags = dashdash < 0 ? [] : process.argv.slice(dashdash + 1);
  const { values: opts } = parseArgs({
    args: dashdash < 0 ? process.argv.slice(2) : process.argv.slice(2, dashdash),
    options: {
      seconds: { type: 'string', default: '5' },
      concurrency: { type: 'string', default: '1,16,64' },
      dir: { type: 'string' },
    },
  });
  const levels = opts.concurrency.split(',').map(Number);
  const users = Array.from({ length: Math.max(...levels) }, (_, i) => `bench${String(i + 1).padStart(2, '0')}`);
  const scratch = opts.dir ?? mkdtempSync(join(tmpdir(), 'hearth-pop3-profile-'));
  const mailDir = join(scratch, 'mail');
  if (!existsSync(join(mailDir, 'store.db'))) {
    const t0 = performance.now();
    await buildStore(ROOT, mailDir, [{ users, messages: [...makeMessages(1000, 10 * 1024, 1), ...makeMessages(5, 1024 * 1024, 1001)] }]);
    console.error(`store built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const child = fork(fileURLToPath(import.meta.url), ['--serve', mailDir, join(scratch, 'pop3.log')], { execArgv: nodeFlags });
  const port = await new Promise((ok, fail) => {
    child.once('message', (m) => ok(m.port));
    child.once('exit', (code) => fail(new Error(`server exited ${code}`)));
  });
  try {
    const picks = new Map();
    for (const user of users) {
      const client = await login(port, user, PASSWORD);
      picks.set(user, pickMessages((await client.ok('LIST', { multi: true, keep: true })).body));
      await client.ok('QUIT');
      client.destroy();
    }
    for (const c of levels) {
      const times = [];
      const deadline = performance.now() + Number(opts.seconds) * 1000;
      const t0 = performance.now();
      await Promise.all(
        users.slice(0, c).map(async (user) => {
          while (performance.now() < deadline) {
            const s = performance.now();
            await fullSession(port, user, PASSWORD, picks.get(user).small.n);
            times.push(performance.now() - s);
          }
        }),
      );
      const elapsed = (performance.now() - t0) / 1000;
      times.sort((a, b) => a - b);
      const at = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(1);
      console.log(`c=${c}: ${(times.length / elapsed).toFixed(0)} sessions/s, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`);
    }
  } finally {
    child.send('stop');
    await new Promise((ok) => child.once('exit', ok));
    if (opts.dir === undefined) rmSync(scratch, { recursive: true, force: true });
  }
}
