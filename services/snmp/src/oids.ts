/**
 * Object identifiers served. The HEARTH-MIB numbers must match `mib/HEARTH-MIB.txt` (a test
 * resolves every one of them with snmptranslate against the file).
 */

/** SNMPv2-MIB system group. */
export const SYSTEM = {
  sysDescr: '1.3.6.1.2.1.1.1',
  sysObjectID: '1.3.6.1.2.1.1.2',
  sysUpTime: '1.3.6.1.2.1.1.3',
  sysContact: '1.3.6.1.2.1.1.4',
  sysName: '1.3.6.1.2.1.1.5',
  sysLocation: '1.3.6.1.2.1.1.6',
  sysServices: '1.3.6.1.2.1.1.7',
} as const;

/** SNMPv2-MIB snmp group: the agent's own protocol counters (Counter32). */
export const SNMP_GROUP = {
  snmpInPkts: '1.3.6.1.2.1.11.1',
  snmpInBadVersions: '1.3.6.1.2.1.11.3',
  snmpInBadCommunityNames: '1.3.6.1.2.1.11.4',
  snmpInASNParseErrs: '1.3.6.1.2.1.11.6',
  snmpSilentDrops: '1.3.6.1.2.1.11.31',
  snmpProxyDrops: '1.3.6.1.2.1.11.32',
} as const;

/** SNMPv2-MIB snmpEnableAuthenTraps (in the snmp group, required by RFC 3418's snmpGroup). */
export const SNMP_ENABLE_AUTHEN_TRAPS = '1.3.6.1.2.1.11.30';

/** SNMP-FRAMEWORK-MIB snmpEngine group. */
export const ENGINE = {
  snmpEngineID: '1.3.6.1.6.3.10.2.1.1',
  snmpEngineBoots: '1.3.6.1.6.3.10.2.1.2',
  snmpEngineTime: '1.3.6.1.6.3.10.2.1.3',
  snmpEngineMaxMessageSize: '1.3.6.1.6.3.10.2.1.4',
} as const;

/** enterprises.32473: RFC 5612's documentation number, a placeholder (see the MIB file). */
export const HEARTH_MIB = '1.3.6.1.4.1.32473';
export const HEARTH = {
  hearthMIB: HEARTH_MIB,
  hearthServiceTable: `${HEARTH_MIB}.1.1`,
  hearthCounterTable: `${HEARTH_MIB}.1.2`,
  hearthGaugeTable: `${HEARTH_MIB}.1.3`,
} as const;

/** Column numbers of the Hearth tables, as in the MIB file. */
export const SERVICE_COLUMNS = {
  hearthServiceIndex: 1,
  hearthServiceName: 2,
  hearthServiceKind: 3,
  hearthServiceState: 4,
  hearthServicePid: 5,
  hearthServiceUptime: 6,
  hearthServiceRestarts: 7,
  hearthServiceLastExit: 8,
  hearthServiceMemory: 9,
} as const;

/** hearthServiceState's enumeration. */
export const SERVICE_STATE_VALUES = { starting: 1, running: 2, stopping: 3, stopped: 4, backoff: 5, failed: 6 } as const;
