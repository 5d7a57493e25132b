/**
 * The agent in this process on an ephemeral loopback port, with a fixture figure source, a temp
 * data dir and a log captured in memory; helpers that run Debian's snmp tools against it.
 */
import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { createLogger } from '@hearth/log';
import { declareCounters, counterFigure, type FiguresSnapshot, type ServiceFigures } from '@hearth/metrics';
import { LocalBus, ownListener, type ServiceContext } from '@hearth/runtime';
import { FixedFigureSource, manifest, startSnmp, type RunningSnmp, type SnmpOptions, type SnmpSettings } from '@hearth/snmp';
import { makeTempDir, type TempDir } from '@hearth/testkit';

/** net-snmp's bundled IETF MIBs (Debian's snmp tools ship none) and ours. */
const require = createRequire(import.meta.url);
export const MIB_DIRS = [join(dirname(require.resolve('net-snmp')), 'lib', 'mibs'), fileURLToPath(new URL('../mib', import.meta.url))].join(':');
export const MIB_ARGS = ['-M', MIB_DIRS, '-m', 'SNMPv2-MIB:HEARTH-MIB'];

export const fixtureCounters = declareCounters({
  connectionsTotal: { id: 1, type: 'counter', description: 'Connections accepted', unit: 'connections', key: true },
  connectionsOpen: { id: 2, type: 'gauge', description: 'Connections open now', unit: 'connections', key: true },
  bytesIn: { id: 3, type: 'counter', description: 'Bytes received', unit: 'bytes', prometheus: { name: 'received_bytes_total' } },
});

export function fixtureService(name: string, values: { total: number; open: number; bytesIn: number }, over: Partial<ServiceFigures> = {}): ServiceFigures {
  return {
    name,
    kind: 'fixture',
    state: 'running',
    pid: 4242,
    uptimeMs: 65_000,
    restarts: 2,
    lastExit: { code: null, signal: 'SIGKILL', at: '2026-12-03T00:00:00.000Z' },
    rssBytes: 50 * 1024 * 1024,
    counters: [
      counterFigure('connectionsTotal', fixtureCounters.connectionsTotal, values.total),
      counterFigure('connectionsOpen', fixtureCounters.connectionsOpen, values.open),
      counterFigure('bytesIn', fixtureCounters.bytesIn, values.bytesIn),
    ],
    ...over,
  };
}

export interface AgentFixture {
  readonly running: RunningSnmp;
  readonly source: FixedFigureSource;
  readonly port: number;
  readonly data: TempDir;
  log(): string;
  stop(): Promise<void>;
}

export async function startAgent(settings: unknown = {}, figures?: FiguresSnapshot, data?: TempDir, options: SnmpOptions = {}): Promise<AgentFixture> {
  const dir = data ?? (await makeTempDir('hearth-snmp-'));
  let logText = '';
  const sink = new Writable({
    write: (c: Buffer, _e, cb) => {
      logText += c.toString();
      cb();
    },
  });
  const log = createLogger({ svc: 'snmp', level: 'debug', destination: sink, pretty: false });
  const parsed = manifest.settings.parse(settings) as SnmpSettings;
  const spec = { name: 'snmp', protocol: 'udp' as const, address: '127.0.0.1', port: 0, tls: false };
  const ctx: ServiceContext<SnmpSettings> = {
    name: 'snmp',
    settings: parsed,
    suite: { dataDir: dir.path, mail: { domains: ['localhost'] }, tls: {} },
    log,
    listeners: new Map([['snmp', ownListener(spec)]]),
    bus: new LocalBus('snmp', log),
  };
  const source = new FixedFigureSource();
  if (figures) source.push(figures);
  const running = await startSnmp(ctx, source, options);
  const address = running.sockets.get('snmp')!.address();
  return {
    running,
    source,
    port: address.port,
    data: dir,
    log: () => logText,
    async stop() {
      await running.stop(Date.now() + 1000);
      if (!data) await dir.remove();
    },
  };
}

export interface ToolResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs one of net-snmp's command-line tools (never throws; the exit code is in the result). */
export function tool(name: string, args: readonly string[], timeoutMs = 15_000): Promise<ToolResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(name, [...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, SNMPCONFPATH: '/nonexistent', MIBS: '' } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** `-v2c -c COMMUNITY 127.0.0.1:PORT` plus a short timeout and no retries. */
export function v2c(community: string, port: number, timeoutS = 1): string[] {
  return ['-v2c', '-c', community, '-t', String(timeoutS), '-r', '0', `127.0.0.1:${port}`];
}
