/**
 * What the agent serves: the system group, the snmp and snmpEngine groups (the agent's own
 * protocol counters and engine), and the Hearth MIB's tables filled from the figures the service
 * is given (`FiguresSnapshot`, from the supervisor).
 */
import type { CounterSet, FiguresSnapshot, ServiceFigures } from '@hearth/metrics';
import type { HardenedAgent } from './agent.js';
import type { counters } from './counters.js';
import { ENGINE, HEARTH, HEARTH_MIB, SERVICE_COLUMNS, SERVICE_STATE_VALUES, SNMP_ENABLE_AUTHEN_TRAPS, SNMP_GROUP, SYSTEM } from './oids.js';
import type { ServiceIndex } from './state.js';
import type { Row, TableDef } from './tree.js';

export interface SystemInfo {
  readonly descr: string;
  readonly contact: string;
  readonly name: string;
  readonly location: string;
}

/** sysServices: applications (layer 7) and end-to-end (layer 4), as snmpd says by default. */
const SYS_SERVICES = 72;
/** snmpEnableAuthenTraps' disabled(2). */
const AUTHEN_TRAPS_DISABLED = 2;

const SERVICE_TABLE: TableDef = {
  name: 'hearthServiceTable',
  oid: HEARTH.hearthServiceTable,
  index: [{ column: 'hearthServiceIndex' }],
  columns: [
    { number: SERVICE_COLUMNS.hearthServiceIndex, name: 'hearthServiceIndex', type: 'unsigned32' },
    { number: SERVICE_COLUMNS.hearthServiceName, name: 'hearthServiceName', type: 'string' },
    { number: SERVICE_COLUMNS.hearthServiceKind, name: 'hearthServiceKind', type: 'string' },
    { number: SERVICE_COLUMNS.hearthServiceState, name: 'hearthServiceState', type: 'integer' },
    { number: SERVICE_COLUMNS.hearthServicePid, name: 'hearthServicePid', type: 'unsigned32' },
    { number: SERVICE_COLUMNS.hearthServiceUptime, name: 'hearthServiceUptime', type: 'timeticks' },
    { number: SERVICE_COLUMNS.hearthServiceRestarts, name: 'hearthServiceRestarts', type: 'counter32' },
    { number: SERVICE_COLUMNS.hearthServiceLastExit, name: 'hearthServiceLastExit', type: 'string' },
    { number: SERVICE_COLUMNS.hearthServiceMemory, name: 'hearthServiceMemory', type: 'gauge32' },
  ],
};

/** The counter and gauge tables share a shape: index (service, counter), name, descr, unit, value. */
function valueTable(prefix: 'hearthCounter' | 'hearthGauge', oid: string, valueType: 'counter64' | 'gauge32'): TableDef {
  return {
    name: `${prefix}Table`,
    oid,
    index: [{ column: 'hearthServiceIndex', foreign: SERVICE_TABLE.name }, { column: `${prefix}Index` }],
    columns: [
      { number: 1, name: `${prefix}Index`, type: 'unsigned32' },
      { number: 2, name: `${prefix}Name`, type: 'string' },
      { number: 3, name: `${prefix}Descr`, type: 'string' },
      { number: 4, name: `${prefix}Unit`, type: 'string' },
      { number: 5, name: `${prefix}Value`, type: valueType },
    ],
  };
}
const COUNTER_TABLE = valueTable('hearthCounter', HEARTH.hearthCounterTable, 'counter64');
const GAUGE_TABLE = valueTable('hearthGauge', HEARTH.hearthGaugeTable, 'gauge32');

function lastExit(e: ServiceFigures['lastExit']): string {
  if (!e) return '';
  return e.signal ? `signal ${e.signal}` : `code ${e.code ?? '?'}`;
}

export class HearthMibView {
  /**
   * `uptime`: milliseconds since the service started (sysUpTime), on a monotonic clock and kept
   * across reloads, which build a new view: a manager takes sysUpTime going back for a restart
   * of the agent, and the counters it serves go on.
   */
  constructor(
    private readonly agent: HardenedAgent,
    private readonly stats: CounterSet<typeof counters>,
    private readonly indices: ServiceIndex,
    system: SystemInfo,
    maxMessageSize: number,
    engineBoots: number,
    private readonly uptime: () => number,
  ) {
    const t = agent.tree;
    t.scalar('sysDescr', SYSTEM.sysDescr, 'string', system.descr);
    t.scalar('sysObjectID', SYSTEM.sysObjectID, 'oid', HEARTH_MIB);
    t.scalar('sysUpTime', SYSTEM.sysUpTime, 'timeticks', 0);
    t.scalar('sysContact', SYSTEM.sysContact, 'string', system.contact);
    t.scalar('sysName', SYSTEM.sysName, 'string', system.name);
    t.scalar('sysLocation', SYSTEM.sysLocation, 'string', system.location);
    t.scalar('sysServices', SYSTEM.sysServices, 'integer', SYS_SERVICES);
    for (const [name, oid] of Object.entries(SNMP_GROUP)) t.scalar(name, oid, 'counter32', 0);
    // The agent sends no notification, authenticationFailure included: disabled(2), snmpd's
    // answer without `authtrapenable 1`.
    t.scalar('snmpEnableAuthenTraps', SNMP_ENABLE_AUTHEN_TRAPS, 'integer', AUTHEN_TRAPS_DISABLED);
    t.scalar('snmpEngineID', ENGINE.snmpEngineID, 'octets', agent.engineId);
    t.scalar('snmpEngineBoots', ENGINE.snmpEngineBoots, 'integer', engineBoots);
    t.scalar('snmpEngineTime', ENGINE.snmpEngineTime, 'integer', 0);
    t.scalar('snmpEngineMaxMessageSize', ENGINE.snmpEngineMaxMessageSize, 'integer', maxMessageSize);
    t.table(SERVICE_TABLE);
    t.table(COUNTER_TABLE);
    t.table(GAUGE_TABLE);
  }

  /** The values that move with every request: uptime, engine time, the protocol counters. */
  refresh(): void {
    const t = this.agent.tree;
    const s = this.stats;
    t.set('sysUpTime', this.uptime());
    t.set('snmpEngineTime', this.agent.engineTime);
    t.set('snmpInPkts', s.get('packets'));
    t.set('snmpInBadVersions', s.get('badVersions'));
    t.set('snmpInBadCommunityNames', s.get('badCommunities'));
    t.set('snmpInASNParseErrs', s.get('parseErrors'));
    t.set('snmpSilentDrops', s.get('repliesCut') + s.get('encodeErrors'));
    t.set('snmpProxyDrops', s.get('otherDrops'));
  }

  /** Makes the Hearth tables show `figures` (rows of services gone are removed). */
  update(figures: FiguresSnapshot, now = Date.now()): void {
    const services: Row[] = [];
    const counterRows: Row[] = [];
    const gaugeRows: Row[] = [];
    const age = Math.max(0, now - figures.at);
    for (const s of figures.services) {
      const index = this.indices.indexOf(s.name);
      if (index === undefined) continue;
      services.push({
        index: [index],
        values: {
          hearthServiceName: s.name,
          hearthServiceKind: s.kind ?? '',
          hearthServiceState: SERVICE_STATE_VALUES[s.state],
          hearthServicePid: s.pid ?? 0,
          hearthServiceUptime: s.uptimeMs === null ? 0 : s.uptimeMs + age,
          hearthServiceRestarts: s.restarts,
          hearthServiceLastExit: lastExit(s.lastExit),
          hearthServiceMemory: s.rssBytes === null ? 0 : Math.round(s.rssBytes / 1024),
        },
      });
      for (const c of s.counters) {
        const prefix = c.type === 'counter' ? 'hearthCounter' : 'hearthGauge';
        (c.type === 'counter' ? counterRows : gaugeRows).push({
          index: [index, c.id],
          values: { [`${prefix}Name`]: c.name, [`${prefix}Descr`]: c.description, [`${prefix}Unit`]: c.unit, [`${prefix}Value`]: c.value },
        });
      }
    }
    const t = this.agent.tree;
    // Counter and gauge rows first: their index leans on the service row.
    t.syncTable(COUNTER_TABLE.name, counterRows);
    t.syncTable(GAUGE_TABLE.name, gaugeRows);
    t.syncTable(SERVICE_TABLE.name, services);
  }
}
