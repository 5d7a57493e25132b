/**
 * @hearth/snmp: an SNMP agent (read-only SNMPv2c communities, SNMPv3 authPriv users) serving the
 * system group and the Hearth MIB (`mib/HEARTH-MIB.txt`): every supervised service's row and
 * counters, from the figures the supervisor sends.
 */
import type { ServiceDefinition } from '@hearth/runtime';
import { manifest, type SnmpSettings } from './config.js';
import { startSnmp } from './server.js';
import { busFigureSource } from './source.js';

export { manifest, settingsSchema, type SnmpSettings } from './config.js';
export { counters } from './counters.js';
export { HardenedAgent, type AgentLimits, type AgentOptions, type AuthProtocol, type PrivProtocol, type SnmpUser } from './agent.js';
export { HearthMibView, type SystemInfo } from './mib.js';
export { ENGINE, HEARTH, HEARTH_MIB, SNMP_GROUP, SYSTEM } from './oids.js';
export { FIGURES_TOPIC, FixedFigureSource, busFigureSource, type FigureSource } from './source.js';
export { COMMUNITY_FILE, STATE_DIR, ServiceIndex, generatedCommunity, newEngineId, startEngine, stateDir, type EngineState } from './state.js';
export { startSnmp, type RunningSnmp, type SnmpOptions } from './server.js';
export { TIME_WINDOW_S, timeliness, type Timeliness } from './timeliness.js';
export { clampInt, counter32, counter64, displayString, encode, gauge32, timeTicks, type SnmpType } from './values.js';

export const definition: ServiceDefinition<SnmpSettings> = {
  ...manifest,
  start: (ctx) => startSnmp(ctx, busFigureSource(ctx.bus, ctx.log)),
};
