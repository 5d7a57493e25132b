/**
 * The file service's counters under a real `hearth up` (files, snmp): after known requests made
 * with curl, `hearth status files --json` and an SNMP walk show the same, exact figures; the
 * transfers gauge shows a download while it runs and drops when the client goes away.
 */
import { execFile, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ServiceStatus } from '@hearth/supervisor';
import { freePorts, runProgram, waitFor } from '@hearth/testkit';
import { MAIN, startUp, waitState, type Up } from '@hearth/testkit/hearth-up';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const SNMP_DIST = fileURLToPath(import.meta.resolve('@hearth/snmp'));
const NET_SNMP_MIBS = join(dirname(createRequire(SNMP_DIST).resolve('net-snmp')), 'lib', 'mibs');
const MIBS = ['-M', `${NET_SNMP_MIBS}:${join(dirname(SNMP_DIST), '..', 'mib')}`, '-m', 'SNMPv2-MIB:HEARTH-MIB'];

let up: Up;
let ports: { http: number; snmp: number };
let community: string;
let share: string;

/** One curl (one connection): the status code. */
async function curl(...args: string[]): Promise<number> {
  const r = await runProgram('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', ...args]);
  return Number(r.stdout);
}

const url = (path: string): string => `http://127.0.0.1:${ports.http}${path}`;

/** The files row of the SNMP walk: counter name to value. */
async function walkFiles(): Promise<Record<string, number>> {
  const out = await new Promise<string>((resolve, reject) =>
    execFile('snmpwalk', [...MIBS, '-v2c', '-c', community, '-t', '2', '-r', '1', '-OQs', `127.0.0.1:${ports.snmp}`, 'HEARTH-MIB::hearthMIB'], (err, stdout, stderr) =>
      err ? reject(new Error(`snmpwalk: ${stderr || err.message}`)) : resolve(stdout),
    ),
  );
  const lines = out.split('\n').map((l) => /^(\w+)\.([\d.]+) = (.*)$/.exec(l)).filter((m) => m !== null) as string[][];
  const svc = lines.find(([, column, , value]) => column === 'hearthServiceName' && value === 'files')?.[2];
  const names = new Map<string, string>();
  const values: Record<string, number> = {};
  for (const [, column, index, value] of lines) {
    const [s, id] = index!.split('.');
    if (s === svc && (column === 'hearthCounterName' || column === 'hearthGaugeName')) names.set(`${column.slice(0, -4)}.${id}`, value!);
  }
  for (const [, column, index, value] of lines) {
    const [s, id] = index!.split('.');
    if (s === svc && (column === 'hearthCounterValue' || column === 'hearthGaugeValue')) values[names.get(`${column.slice(0, -5)}.${id}`)!] = Number(value);
  }
  return values;
}

async function statusFiles(): Promise<Record<string, number>> {
  const r = await up.cli('status', 'files', '--json');
  expect(r.code).toBe(0);
  const s = JSON.parse(r.stdout) as ServiceStatus;
  return Object.fromEntries((s.counters ?? []).map((c) => [c.name, c.value]));
}

beforeAll(async () => {
  const [http, snmp] = await freePorts(['tcp', 'udp']);
  ports = { http, snmp };
  share = mkdtempSync(join(tmpdir(), 'files-counters-'));
  writeFileSync(join(share, 'hello.txt'), 'hello\n');
  // Sparse: a download long enough to be seen in progress, at no cost on disk.
  writeFileSync(join(share, 'big.bin'), '');
  truncateSync(join(share, 'big.bin'), 256 * 1024 * 1024);
  up = await startUp(`services:
  files:
    service: files
    standby: false
    listen: { http: { address: 127.0.0.1, port: ${ports.http} } }
    settings:
      shares: { docs: { path: ${JSON.stringify(share)}, write: [alice] } }
      home: { enabled: false }
      loginFailureDelay: 10ms
  snmp:
    service: snmp
    standby: false
    listen: { snmp: { protocol: udp, address: 127.0.0.1, port: ${ports.snmp} } }
`);
  for (const name of ['files', 'snmp']) await waitState(up, name, 'running', 30_000);
  const added = await runProgram(process.execPath, [MAIN, 'user', 'add', 'alice', '--password-stdin', '--data', up.data], { input: 'alice-secret-1\n' });
  expect(added.code).toBe(0);
  const dora = await runProgram(process.execPath, [MAIN, 'user', 'add', 'dora', '--password-stdin', '--data', up.data], { input: 'dora-secret-1\n' });
  expect(dora.code).toBe(0);
  expect((await runProgram(process.execPath, [MAIN, 'user', 'disable', 'dora', '--data', up.data])).code).toBe(0);
  community = (await up.cli('snmp', 'credentials')).stdout.trim();
});
afterAll(async () => {
  await up?.stop();
  rmSync(share, { recursive: true, force: true });
});

describe('file service counters', () => {
  it('count connections, logins, requests by method and status class, and bytes, the same in hearth status and over SNMP', async () => {
    // A disabled account's right password (its mounted drive asking again) is refused as a wrong
    // one is, but counted as a login refused, not as a failure: it is no attack.
    const auth = ['-u', 'alice:alice-secret-1'];
    expect(await curl(...auth, url('/docs/hello.txt'))).toBe(200);
    expect(await curl(...auth, url('/docs/hello.txt'), '-H', 'If-None-Match: *')).toBe(304);
    expect(await curl(...auth, '-T', '-', url('/docs/new.txt'))).toBe(201);
    expect(await curl(...auth, '-X', 'PROPFIND', '-H', 'Depth: 1', url('/docs/'))).toBe(207);
    expect(await curl(...auth, url('/docs/missing.txt'))).toBe(404);
    expect(await curl('-u', 'alice:wrong', url('/docs/hello.txt'))).toBe(401);
    expect(await curl('-u', 'dora:dora-secret-1', url('/docs/hello.txt'))).toBe(401);
    expect(await curl('-X', 'OPTIONS', url('/docs/'))).toBe(200);
    expect(await curl('-X', 'REPORT', url('/docs/'))).toBe(501);
    const expected = {
      connectionsTotal: 9,
      connectionsOpen: 0,
      authSuccesses: 5,
      authFailures: 1,
      loginsRefused: 1,
      requestsGet: 5,
      requestsPut: 1,
      requestsPropfind: 1,
      requestsOptions: 1,
      requestsOther: 1,
      requestsHead: 0,
      requestsDelete: 0,
      responses2xx: 4,
      responses3xx: 1,
      responses4xx: 3,
      responses5xx: 1,
      transfersCurrent: 0,
    };
    const status = await waitFor(async () => {
      const s = await statusFiles();
      return s['responses5xx'] === 1 && s['connectionsOpen'] === 0 ? s : undefined;
    }, { timeout: 10_000, what: 'the requests in hearth status' });
    expect(status).toMatchObject(expected);
    // Bytes on the wire: at least the bodies, heads included.
    expect(status['bytesOut']).toBeGreaterThan('hello\n'.length);
    expect(status['bytesIn']).toBeGreaterThan(8 * 'GET / HTTP/1.1\r\n'.length);
    const walked = await waitFor(async () => {
      const w = await walkFiles();
      return w['responses5xx'] === 1 && w['connectionsOpen'] === 0 ? w : undefined;
    }, { timeout: 5000, what: 'the requests in the walk' });
    expect(walked).toEqual(await statusFiles());
  });

  it('show a download in progress as a transfer, and count its bytes once it ends', async () => {
    const before = await statusFiles();
    const download = spawn('curl', ['-sS', '-u', 'alice:alice-secret-1', '--limit-rate', '2M', '-o', '/dev/null', url('/docs/big.bin')], { stdio: 'ignore' });
    const ended = new Promise((resolve) => download.on('close', resolve));
    await waitFor(async () => ((await statusFiles())['transfersCurrent'] === 1 ? true : undefined), { timeout: 10_000, what: 'one transfer' });
    await waitFor(async () => ((await walkFiles())['transfersCurrent'] === 1 ? true : undefined), { timeout: 5000, what: 'one transfer in the walk' });
    download.kill('SIGKILL');
    await ended;
    const after = await waitFor(async () => {
      const s = await statusFiles();
      return s['transfersCurrent'] === 0 && s['connectionsOpen'] === 0 ? s : undefined;
    }, { timeout: 10_000, what: 'the transfer to end' });
    expect(after['requestsGet']).toBe(before['requestsGet']! + 1);
    expect(after['bytesOut']! - before['bytesOut']!).toBeGreaterThan(1024 * 1024);
  });
});
