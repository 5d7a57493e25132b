/**
 * Debian's snmp tools against the agent (v2c): walk, get, bulkwalk and table print names from the
 * MIB file; the figures given are what is served; a wrong community gets no answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEARTH, manifest, type SnmpSettings } from '@hearth/snmp';
import { waitFor } from '@hearth/testkit';
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

  it('past the last object, GetNext and GetBulk answer endOfMibView under the name asked for, as snmpd does', async () => {
    // The last object served is snmpEngineMaxMessageSize.0; .1.3.6.1.6.3.15 (usmMIB) is after it,
    // .1.4 and .2 after everything: net-snmp answered noSuchObject, or started over at 1.3.6.1.
    const end = 'No more variables left in this MIB View (It is past the end of the MIB tree)';
    for (const oid of ['.1.3.6.1.6.3.10.2.1.4.0', '.1.3.6.1.6.3.15', '.1.4', '.2.1']) {
      const r = await tool('snmpgetnext', [...MIB_ARGS, ...v2c(community, agent.port), '-On', oid]);
      expect(r.code, oid).toBe(0);
      expect(r.stdout.trim(), oid).toBe(`${oid} = ${end}`);
    }
    // Two columns: the second ends one repetition later, and the response stops after the first
    // repetition wholly at its end.
    const bulk = await tool('snmpbulkget', [...MIB_ARGS, ...v2c(community, agent.port), '-On', '-Cn1', '-Cr5', '.1.2', '.1.3.6.1.6.3.16', '.1.3.6.1.6.3.10.2.1.3.0']);
    expect(bulk.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^\.1\.3\.6\.1\.2\.1\.1\.1\.0 = STRING: Hearth SNMP agent on /),
      `.1.3.6.1.6.3.16 = ${end}`,
      '.1.3.6.1.6.3.10.2.1.4.0 = INTEGER: 65507',
      `.1.3.6.1.6.3.16 = ${end}`,
      `.1.3.6.1.6.3.10.2.1.4.0 = ${end}`,
    ]);
    // A walk of a subtree past the end prints its end once (it printed noSuchObject ten times).
    const walk = await tool('snmpbulkwalk', [...MIB_ARGS, ...v2c(community, agent.port), '-On', '.1.3.6.1.6.3.16']);
    expect(walk.stdout.trim()).toBe(`.1.3.6.1.6.3.16 = ${end}`);
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

  it('an uptime past 497 days wraps, as TimeTicks do (it stuck at 2^32-1)', async () => {
    const services = [fixtureService('smtp', { total: 7, open: 2, bytesIn: 5_000_000_000 }, { uptimeMs: 2 ** 32 * 10 + 300_000 })];
    agent.source.push({ at: Date.now(), services });
    const ticks = await waitFor(async () => {
      const got = await tool('snmpget', [...MIB_ARGS, ...v2c(community, agent.port), '-Ot', 'HEARTH-MIB::hearthServiceUptime.1']);
      const n = Number(/= (\d+)/.exec(got.stdout)?.[1]);
      return n > 20_000 ? n : undefined;
    });
    expect(ticks).toBeGreaterThanOrEqual(30_000);
    expect(ticks).toBeLessThan(40_000);
  });
  it('a reload keeps sysUpTime counting from the start, as the counters it serves go on (it began again at 0: a manager saw a restart)', async () => {
    const ticks = async (): Promise<number> => {
      const r = await tool('snmpget', [...MIB_ARGS, ...v2c(community, agent.port), '-Ot', '-Oqv', 'sysUpTime.0']);
      return Number(r.stdout.trim());
    };
    const before = await waitFor(async () => {
      const t = await ticks();
      return t >= 50 ? t : undefined;
    });
    const packets = agent.running.stats.get('packets');
    await agent.running.reload!(manifest.settings.parse({ system: { contact: 'ops@example.org' } }) as SnmpSettings, { dataDir: agent.data.path, mail: { domains: ['localhost'] }, tls: {} });
    const r = await tool('snmpget', [...MIB_ARGS, ...v2c(community, agent.port), 'sysContact.0', 'sysUpTime.0', 'snmpInPkts.0']);
    expect(r.stdout).toContain('sysContact.0 = STRING: ops@example.org');
    expect(Number(/sysUpTime\.0 = Timeticks: \((\d+)\)/.exec(r.stdout)?.[1])).toBeGreaterThanOrEqual(before);
    expect(Number(/snmpInPkts\.0 = Counter32: (\d+)/.exec(r.stdout)?.[1])).toBeGreaterThan(packets);
  });
  it('serves snmpEnableAuthenTraps, which RFC 3418 puts in the snmp group, as disabled: the agent sends no notification', async () => {
    const r = await tool('snmpget', [...MIB_ARGS, ...v2c(community, agent.port), 'SNMPv2-MIB::snmpEnableAuthenTraps.0']);
    expect(r.stdout.trim()).toBe('SNMPv2-MIB::snmpEnableAuthenTraps.0 = INTEGER: disabled(2)');
  });
});
