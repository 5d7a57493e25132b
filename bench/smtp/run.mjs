#!/usr/bin/env node
/**
 * SMTP intake: Hearth vs Postfix, interleaved in one run, on loopback.
 *
 *   node bench/smtp/run.mjs [--seconds 3] [--sizes 4k,1m] [--concurrency 1,16,64]
 *                           [--max 20000] [--only hearth|postfix] [--in-flow-delay 1s]
 *                           [--hearth-external --hearth-port 12025]
 *
 * Needs root for Postfix (useradd, postfix start) and Hearth built (`npx tsc -b packages/cli`).
 * See README.md for what is measured.
 */
import { parseArgs } from 'node:util';
import { makeMessage, percentile, runLoad } from './client.mjs';
import { startHearth } from './hearth.mjs';
import { startPostfix } from './postfix.mjs';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    sizes: { type: 'string', default: '4k,1m' },
    concurrency: { type: 'string', default: '1,16,64' },
    max: { type: 'string', default: '20000' },
    only: { type: 'string' },
    'in-flow-delay': { type: 'string', default: '1s' },
    'hearth-port': { type: 'string', default: '12025' },
    'postfix-port': { type: 'string', default: '12525' },
    users: { type: 'string', default: '8' },
    'hearth-external': { type: 'boolean', default: false },
  },
});

const SIZES = { '4k': 4 * 1024, '1m': 1024 * 1024 };
const seconds = Number(values.seconds);
const maxMessages = Number(values.max);
const sizes = values.sizes.split(',').map((s) => {
  const bytes = SIZES[s.toLowerCase()];
  if (bytes === undefined) throw new Error(`unknown size ${s} (4k, 1m)`);
  return { label: s.toUpperCase().replace('K', ' KB').replace('M', ' MB'), bytes };
});
const levels = values.concurrency.split(',').map(Number);
const users = Array.from({ length: Number(values.users) }, (_, i) => `hbench${i}`);
const log = (text) => process.stderr.write(`# ${text}\n`);

const targets = [];
let stopping = false;
async function stopAll() {
  if (stopping) return;
  stopping = true;
  for (const target of targets.splice(0).reverse()) {
    await target.stop().catch((error) => log(`stopping ${target.name}: ${error.message}`));
  }
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    void stopAll().then(() => process.exit(130));
  });
}

async function cell(target, size, concurrency, message) {
  const recipients = users.map((u) => `${u}@localhost`);
  if (target.name === 'postfix') target.clear();
  const started = performance.now();
  const load = await runLoad({ port: target.port, concurrency, message, recipients, seconds, maxMessages });
  const result = {
    sent: load.sent,
    failed: load.failed,
    errors: load.errors,
    rate: load.sent / (load.elapsedMs / 1000),
    p50: percentile(load.latencies, 50),
    p99: percentile(load.latencies, 99),
  };
  if (target.name === 'postfix') {
    const done = await target.waitDelivered(load.sent, 120_000);
    result.delivered = done.count;
    result.deliveredRate = done.count / ((done.at - started) / 1000);
    result.drainMs = done.at - started - load.elapsedMs;
    if (done.timedOut) log(`postfix: only ${done.count} of ${load.sent} delivered within the timeout`);
  }
  if (load.failed > 0) log(`${target.name} ${size.label} c=${concurrency}: ${load.failed} failed connections: ${JSON.stringify(load.errors)}`);
  log(
    `${target.name.padEnd(7)} ${size.label.padStart(5)} c=${String(concurrency).padStart(2)}: ${result.rate.toFixed(0)}/s ` +
      `p50 ${result.p50.toFixed(1)} ms p99 ${result.p99.toFixed(1)} ms` +
      (result.delivered === undefined ? '' : `, delivered ${result.delivered} at ${result.deliveredRate.toFixed(0)}/s`),
  );
  return result;
}

async function main() {
  const want = (name) => values.only === undefined || values.only === name;
  if (want('postfix')) {
    const postfix = await startPostfix({ port: Number(values['postfix-port']), users, inFlowDelay: values['in-flow-delay'], log });
    targets.push(postfix);
    log(`postfix ${postfix.version()} on 127.0.0.1:${postfix.port} (in_flow_delay ${values['in-flow-delay']})`);
  }
  if (want('hearth') && values['hearth-external']) {
    // Already running (e.g. `node --cpu-prof bench/smtp/serve.mjs`), with the bench users.
    targets.push({ name: 'hearth', port: Number(values['hearth-port']), stop: async () => undefined });
  } else if (want('hearth')) {
    const hearth = await startHearth({ port: Number(values['hearth-port']), users });
    targets.push(hearth);
    log(`hearth on 127.0.0.1:${hearth.port}, data in ${hearth.dataDir}`);
  }
  // Warm up both (JIT, process pools, page cache) with a short run each.
  for (const target of targets) {
    await runLoad({ port: target.port, concurrency: 4, message: makeMessage(4096, 'warmup'), recipients: users.map((u) => `${u}@localhost`), seconds: 1, maxMessages: 400 });
    if (target.name === 'postfix') await target.waitDelivered(0, 30_000);
  }

  const rows = [];
  let flip = false;
  for (const size of sizes) {
    const message = makeMessage(size.bytes, size.label.replace(' ', ''));
    for (const concurrency of levels) {
      // Interleaved, alternating who goes first.
      const order = flip ? [...targets].reverse() : targets;
      flip = !flip;
      const results = {};
      for (const target of order) results[target.name] = await cell(target, size, concurrency, message);
      rows.push({ size: size.label, concurrency, ...results });
    }
  }
  await stopAll();
  printTable(rows);
}

function fmt(n, digits = 0) {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

function printTable(rows) {
  const lines = [
    '| size | clients | Postfix accepted/s | Postfix delivered/s | Postfix p50 / p99 ms | Hearth stored/s | Hearth p50 / p99 ms | Hearth / Postfix accepted | Hearth / Postfix delivered |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of rows) {
    const p = row.postfix;
    const h = row.hearth;
    lines.push(
      `| ${row.size} | ${row.concurrency} | ${fmt(p?.rate)} | ${fmt(p?.deliveredRate)} | ${p ? `${fmt(p.p50, 1)} / ${fmt(p.p99, 1)}` : '-'} | ` +
        `${fmt(h?.rate)} | ${h ? `${fmt(h.p50, 1)} / ${fmt(h.p99, 1)}` : '-'} | ` +
        `${p && h ? `${fmt(h.rate / p.rate, 2)}x` : '-'} | ${p && h ? `${fmt(h.rate / p.deliveredRate, 2)}x` : '-'} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch(async (error) => {
  log(`failed: ${error.stack ?? error}`);
  await stopAll();
  process.exit(1);
});
