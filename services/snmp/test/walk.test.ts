/**
 * Debian's snmp tools against the agent (v2c): walk, get, bulkwalk and table print names from the
 * MIB file; the figures given are what is served; a wrong community gets no answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEARTH } from '@hearth/snmp';
import { MIB_ARGS, fixtureService, startAgent, tool, v2c, type AgentFixture } from './fixture.js';

let agent: AgentFixture;
let community: string;

beforeAll(async () => {
  agent = await startAgent({ system: { contact: 'admin@example.org', location: 'cellar', name: 'box' } }, {
    at: Date.now(),
    services: [fixtureService('smtp', { total: 7, open: 2, bytesIn: 5_000_000_000 }), fixtureService('pop3', { total: 3, open: 0, bytesIn: 10 }, { state: 'backoff', pid: null, uptimeMs: null })],
  });
  community = agent.running.communities()[0]!;
});
afterAll(() => agent.stop());

describe('v2c with the generated community', () => {
  it('walks the system group', async () => {
    const r = await tool('snmpwalk', [...MIB_ARGS, ...v2c(community, agent.port), 'system']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/SNMPv2-MIB::sysDescr\.0 = STRING: Hearth SNMP agent on /);
    expect(r.stdout).toMatch(/SNMPv2-MIB::sysObjectID\.0 = OID: HEARTH-MIB::hearthMIB/);
    expect(r.stdout).toMatch(/SNMPv2-MIB::sysUpTime\.0 = Timeticks: \(\d+\)/);
    expect(r.stdout).toContain('SNMPv2-MIB::sysContact.0 = STRING: admin@example.org');
    expect(r.stdout).toContain('SNMPv2-MIB::sysName.0 = STRING: box');
    expect(r.stdout).toContain('SNMPv2-MIB::sysLocation.0 = STRING: cellar');
    expect(r.stdout).toContain('SNMPv2-MIB::sysServices.0 = INTEGER: 72');
  });

  it('serves the service table and the counters by name', async () => {
    const r = await tool('snmpwalk', [...MIB_ARGS, ...v2c(community, agent.port), 'HEARTH-MIB::hearthMIB']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('HEARTH-MIB::hearthServiceName.1 = STRING: smtp');
    expect(r.stdout).toContain('HEARTH-MIB::hearthServiceState.1 = INTEGER: running(2)');
    expect(r.stdout).toContain('HEARTH-MIB::hearthServiceState.2 = INTEGER: backoff(5)');
    expect(r.stdout).toContain('HEARTH-MIB::hearthServicePid.2 = Gauge32: 0');
    expect(r.stdout).toContain('HEARTH-MIB::hearthServiceLastExit.1 = STRING: signal SIGKILL');
    expect(r.stdout).toContain('HEARTH-MIB::hearthServiceMemory.1 = Gauge32: 51200 kilobytes');
    expect(r.stdout).toContain('HEARTH-MIB::hearthCounterValue.1.3 = Counter64: 5000000000');
    expect(r.stdout).toContain('HEARTH-MIB::hearthCounterName.1.1 = STRING: connectionsTotal');
    expect(r.stdout).toContain('HEARTH-MIB::hearthGaugeValue.1.2 = Gauge32: 2');
  });

  it('a wrong community gets no answer', async () => {
    const before = agent.running.stats.get('badCommunities');
    const r = await tool('snmpget', [...MIB_ARGS, ...v2c(`${community}x`, agent.port), 'sysName.0']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Timeout: No Response from 127\.0\.0\.1/);
    expect(agent.running.stats.get('badCommunities')).toBe(before + 1);
  });

  it('snmptable prints the service table', async () => {
    const r = await tool('snmptable', [...MIB_ARGS, ...v2c(community, agent.port), '-Cf', '|', '-Cb', '-Ov', HEARTH.hearthServiceTable]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').slice(2, 5)).toEqual([
      'Name|Kind|State|Pid|Uptime|Restarts|LastExit|Memory',
      expect.stringMatching(/^smtp\|fixture\|running\|4242\|0:0:01:05\.\d\d\|2 restarts\|signal SIGKILL\|51200 kilobytes$/),
      'pop3|fixture|backoff|0|0:0:00:00.00|2 restarts|signal SIGKILL|51200 kilobytes',
    ]);
  });
});
