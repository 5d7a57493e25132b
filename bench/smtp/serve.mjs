#!/usr/bin/env node
/**
 * Hearth's SMTP service alone in this process (no supervisor, a bus that drops events), for
 * profiling the data path: `node --cpu-prof bench/smtp/serve.mjs --port 12025 --users 8`,
 * load it with `run.mjs --only hearth --hearth-external`, stop it with Ctrl-C.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../../packages/log/dist/index.js';
import { openSuiteAccounts } from '../../packages/accounts/dist/index.js';
import { openMailStore } from '../../packages/mail-store/dist/index.js';
import { settingsSchema, startSmtp, storeSink, storeUsers, suiteTls } from '../../services/smtp/dist/index.js';

const { values } = parseArgs({ options: { port: { type: 'string', default: '12025' }, users: { type: 'string', default: '8' } } });
const dataDir = await mkdtemp(join(tmpdir(), 'hearth-serve-'));
const store = await openMailStore({ dir: join(dataDir, 'mail') });
const accounts = await openSuiteAccounts(dataDir, { passwordParams: { ln: 10, r: 8, p: 1 } });
for (let i = 0; i < Number(values.users); i++) {
  store.addMaildrop(`hbench${i}`);
  await accounts.add(`hbench${i}`, 'bench-password');
}
const suite = { dataDir, mail: { domains: ['localhost'] }, tls: {} };
const spec = { name: 'mx', protocol: 'tcp', address: '127.0.0.1', port: Number(values.port), tls: false };
const listener = {
  spec,
  listen: (server) => new Promise((resolve, reject) => server.once('error', reject).listen(spec.port, spec.address, resolve)),
  bind: () => Promise.reject(new Error('no UDP here')),
};
const bus = { send: () => true, publish: () => true, on: () => undefined };
const running = await startSmtp(
  {
    settings: settingsSchema.parse({}),
    suite,
    log: createLogger({ svc: 'smtp', level: 'warn' }),
    listeners: new Map([['mx', listener]]),
    bus,
  },
  { sink: storeSink(store), users: storeUsers(store, accounts), tls: suiteTls },
);
process.stderr.write(`# listening on 127.0.0.1:${spec.port}, data in ${dataDir}\n`);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    await running.stop(Date.now() + 2000);
    await store.close();
    await accounts.close();
    await rm(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
}
