/**
 * The SNMP service: the UDP listener handed down by the supervisor, the hardened agent, the
 * objects it serves, kept up to date from a figure source. A reload builds a new agent with the
 * new settings (same engine ID and boots) and swaps it in between two datagrams.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { arch, hostname, release, type } from 'node:os';
import { CounterSet, type FiguresSnapshot } from '@hearth/metrics';
import type { RunningService, ServiceContext } from '@hearth/runtime';
import type { Logger } from '@hearth/log';
import { HardenedAgent } from './agent.js';
import type { SnmpSettings } from './config.js';
import { counters } from './counters.js';
import { HearthMibView } from './mib.js';
import type { FigureSource } from './source.js';
import { ServiceIndex, generatedCommunity, startEngine, stateDir, type EngineState } from './state.js';

export interface RunningSnmp extends RunningService<SnmpSettings> {
  readonly stats: CounterSet<typeof counters>;
  /** The UDP sockets, by listener name (for tests: their bound addresses). */
  readonly sockets: ReadonlyMap<string, dgram.Socket>;
  readonly engine: EngineState;
  /** The v2c communities served now (the generated one when the config names none). */
  communities(): readonly string[];
}

interface Built {
  readonly agent: HardenedAgent;
  readonly view: HearthMibView;
  readonly communities: readonly string[];
}

export interface SnmpOptions {
  /** Milliseconds on a monotonic clock, for the SNMPv3 engine time (a test moves it). */
  readonly clock?: () => number;
}

export async function startSnmp(ctx: ServiceContext<SnmpSettings>, source: FigureSource, options: SnmpOptions = {}): Promise<RunningSnmp> {
  const { log } = ctx;
  const clock = options.clock ?? (() => performance.now());
  // snmpEngineTime and sysUpTime count from the service's start, not from a reload's new agent.
  const engineStartedAt = clock();
  const uptime = (): number => clock() - engineStartedAt;
  const dir = stateDir(ctx.suite.dataDir);
  const engine = startEngine(dir);
  const stats = new CounterSet(counters);
  const full = new Set<string>();
  const indices = ServiceIndex.inDir(
    dir,
    (name) => {
      if (full.has(name)) return;
      full.add(name);
      log.warn({ service: name }, 'snmp service table full: service not served');
    },
    (name, err) => log.warn({ service: name, err }, 'snmp service number not written (kept in memory until the next new service)'),
  );
  let last: FiguresSnapshot | undefined;

  const build = (settings: SnmpSettings): Built => {
    const communities = settings.communities ?? (settings.users.length === 0 ? [generatedCommunity(dir)] : []);
    let view: HearthMibView | undefined;
    const agent = new HardenedAgent({
      engineId: engine.engineId,
      engineBoots: engine.boots,
      communities,
      users: settings.users,
      limits: settings.limits,
      stats,
      log,
      beforeRequest: () => view?.refresh(),
      clock,
      engineStartedAt,
    });
    view = new HearthMibView(agent, stats, indices, systemInfo(settings), settings.limits.maxMessageSize, engine.boots, uptime);
    if (last) view.update(last);
    return { agent, view, communities };
  };

  let built = build(ctx.settings);
  const sockets = new Map<string, dgram.Socket>();
  try {
    for (const [name, listener] of ctx.listeners) {
      if (listener.spec.protocol !== 'udp') {
        log.warn({ listener: name }, 'snmp serves only udp listeners: listener ignored');
        continue;
      }
      const socket = dgram.createSocket({ type: isIPv6(listener.spec.address) ? 'udp6' : 'udp4' });
      socket.on('error', (err) => log.error({ err, listener: name }, 'snmp socket error'));
      socket.on('message', (data, rinfo) => built.agent.receive(socket, data, rinfo));
      await listener.bind(socket);
      sockets.set(name, socket);
    }
  } catch (err) {
    for (const s of sockets.values()) s.close();
    throw err;
  }
  const unsubscribe = source.subscribe((figures) => {
    last = figures;
    built.view.update(figures);
  });
  logSecurity(log, built, ctx.settings);

  return {
    stats,
    counters: stats,
    sockets,
    engine,
    communities: () => built.communities,
    async reload(next) {
      const old = built;
      built = build(next);
      old.agent.close();
      logSecurity(log, built, next);
    },
    async stop() {
      unsubscribe();
      for (const s of sockets.values()) s.close();
      built.agent.close();
      log.info(stats.snapshot(), 'snmp stopped');
    },
  };
}

function systemInfo(settings: SnmpSettings): { descr: string; contact: string; name: string; location: string } {
  return {
    descr: settings.system.descr ?? `Hearth SNMP agent on ${type()} ${release()} ${arch()}`,
    contact: settings.system.contact,
    name: settings.system.name ?? hostname(),
    location: settings.system.location,
  };
}

function logSecurity(log: Logger, built: Built, settings: SnmpSettings): void {
  log.info(
    {
      communities: built.communities.length,
      generated: settings.communities === undefined && settings.users.length === 0,
      users: settings.users.map((u) => u.name),
    },
    'snmp access (read-only)',
  );
}
