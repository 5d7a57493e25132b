/**
 * Each known way net-snmp's agent fails, over a real socket with Debian's tools or raw datagrams:
 * unbounded GetBulk, oversized replies, out-of-range values, SETs, garbage and truncated
 * datagrams, SNMPv1. The agent answers the next request after each.
 */
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedFigureSource } from '@hearth/snmp';
import { MIB_ARGS, fixtureService, startAgent, tool, v2c, type AgentFixture } from './fixture.js';

let agent: AgentFixture;
let community: string;

beforeAll(async () => {
  agent = await startAgent({}, { at: Date.now(), services: [fixtureService('smtp', { total: 1, open: 1, bytesIn: 1 })] });
  community = agent.running.communities()[0]!;
});
afterAll(() => agent.stop());

async function sysName(): Promise<string> {
  const r = await tool('snmpget', [...MIB_ARGS, ...v2c(community, agent.port), '-Ov', 'sysName.0']);
  expect(r.code).toBe(0);
  return r.stdout.trim();
}

function sendRaw(port: number, data: Buffer): Promise<void> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve, reject) =>
    socket.send(data, port, '127.0.0.1', (err) => {
      socket.close();
      if (err) reject(err);
      else resolve();
    }),
  );
}

/** A BER INTEGER (non-negative, short form length). */
function int(n: number): Buffer {
  const bytes: number[] = [];
  do {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  } while (n > 0);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return Buffer.from([0x02, bytes.length, ...bytes]);
}

/**
 * A v2c request for sysName.0, encoded by hand (BER): a GetRequest, or with `maxRepetitions` a
 * GetBulkRequest (non-repeaters 0).
 */
function getRequest(c: string, version = 1, maxRepetitions?: number): Buffer {
  const oid = Buffer.from([0x06, 0x08, 0x2b, 6, 1, 2, 1, 1, 5, 0]);
  const varbind = Buffer.concat([Buffer.from([0x30, oid.length + 2]), oid, Buffer.from([0x05, 0x00])]);
  const list = Buffer.concat([Buffer.from([0x30, varbind.length]), varbind]);
  const pdu = Buffer.concat([int(42), int(0), int(maxRepetitions ?? 0), list]);
  const pduTlv = Buffer.concat([Buffer.from([maxRepetitions === undefined ? 0xa0 : 0xa5, pdu.length]), pdu]);
  const body = Buffer.concat([Buffer.from([0x02, 0x01, version, 0x04, c.length]), Buffer.from(c), pduTlv]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

describe('requests that break net-snmp on its own', () => {
  it('snmpbulkget -Cr0 gets its empty response (net-snmp never answered a request with nothing to answer)', async () => {
    const r = await tool('snmpbulkget', [...MIB_ARGS, ...v2c(community, agent.port), '-Cn0', '-Cr0', 'sysDescr']);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: '', stderr: '' });
    // With non-repeaters only, those are answered.
    const n = await tool('snmpbulkget', [...MIB_ARGS, ...v2c(community, agent.port), '-Cn1', '-Cr0', 'sysDescr', 'sysName']);
    expect(n.code).toBe(0);
    expect(n.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^SNMPv2-MIB::sysDescr\.0 = STRING: /)]);
  });

  it('snmpbulkget -Cr300000 is answered within a second, bounded, and memory stays flat', async () => {
    const before = agent.running.stats.get('bulkClamped');
    const rssBefore = process.memoryUsage().rss;
    for (let i = 0; i < 5; i++) {
      const r = await tool('snmpbulkget', [...MIB_ARGS, ...v2c(community, agent.port, 2), '-Cn0', '-Cr300000', 'sysDescr']);
      expect(r.code).toBe(0);
      const lines = r.stdout.split('\n').filter((l) => l.includes(' = ')).length;
      expect(lines).toBeGreaterThan(10);
      expect(lines).toBeLessThanOrEqual(100); // limits.maxRepetitions
    }
    // The agent's own answer time, without a tool's start: the same request from this process.
    const socket = dgram.createSocket('udp4');
    try {
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const reply = await new Promise<Buffer>((resolve, reject) => {
          socket.once('message', resolve);
          socket.send(getRequest(community, 1, 300_000), agent.port, '127.0.0.1', (err) => err && reject(err));
        });
        expect(performance.now() - started).toBeLessThan(1000);
        expect(reply.length).toBeLessThan(65_507);
      }
    } finally {
      socket.close();
    }
    expect(agent.running.stats.get('bulkClamped')).toBe(before + 10);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(40 * 1024 * 1024);
    expect(await sysName()).toMatch(/^STRING: /);
  });

  it('garbage, truncated and SNMPv1 datagrams are dropped and counted; the agent goes on', async () => {
    const stats = agent.running.stats;
    const parseBefore = stats.get('parseErrors');
    const v1Before = stats.get('badVersions');
    const whole = getRequest(community);
    await sendRaw(agent.port, Buffer.from('not snmp at all'));
    await sendRaw(agent.port, whole.subarray(0, whole.length - 5));
    await sendRaw(agent.port, Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x02]));
    await sendRaw(agent.port, Buffer.alloc(0));
    await sendRaw(agent.port, getRequest(community, 0));
    await expect.poll(() => stats.get('parseErrors') - parseBefore).toBe(4);
    await expect.poll(() => stats.get('badVersions') - v1Before).toBe(1);
    expect(await sysName()).toMatch(/^STRING: /);
    const r = await tool('snmpget', [...MIB_ARGS, ...v2c(community, agent.port), '-Ov', 'snmpInASNParseErrs.0', 'snmpInBadVersions.0']);
    expect(r.stdout.trim().split('\n')).toEqual([`Counter32: ${stats.get('parseErrors')}`, `Counter32: ${stats.get('badVersions')}`]);
  });

  it('a SET is refused with noAccess, on an existing object and on a new one', async () => {
    const before = agent.running.stats.get('setsRefused');
    for (const oid of ['sysName.0', 'HEARTH-MIB::hearthServiceName.99']) {
      const r = await tool('snmpset', [...MIB_ARGS, ...v2c(community, agent.port), oid, 's', 'pwned']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('Reason: noAccess');
    }
    expect(agent.running.stats.get('setsRefused')).toBe(before + 2);
    expect(await sysName()).not.toContain('pwned');
  });

  it('out-of-range figures are clamped, never crash the encoder', async () => {
    const bad = fixtureService('wild', { total: -5, open: 2 ** 40, bytesIn: Number.NaN }, { uptimeMs: -1000, pid: -3, restarts: Number.POSITIVE_INFINITY, rssBytes: 2 ** 60 });
    agent.source.push({ at: Date.now(), services: [bad] });
    const r = await tool('snmpwalk', [...MIB_ARGS, ...v2c(community, agent.port), '-Ov', 'HEARTH-MIB::hearthMIB']);
    expect(r.code).toBe(0);
    const values = r.stdout.trim().split('\n');
    expect(values).toContain('Timeticks: (0) 0:00:00.00'); // uptime
    expect(values).toContain('Gauge32: 4294967295'); // memory and the gauge, latched
    expect(values).toContain('Counter64: 0'); // -5 and NaN
    expect(await sysName()).toMatch(/^STRING: /);
    agent.source.push({ at: Date.now(), services: [fixtureService('smtp', { total: 1, open: 1, bytesIn: 1 })] });
  });
});

describe('reply size', () => {
  it('a GetBulk reply is cut to the message size; a walk still completes', async () => {
    const small = await startAgent({ limits: { maxMessageSize: 484 } }, { at: Date.now(), services: Array.from({ length: 20 }, (_, i) => fixtureService(`svc${i}`, { total: i, open: i, bytesIn: i })) });
    try {
      const c = small.running.communities()[0]!;
      const full = await tool('snmpwalk', [...MIB_ARGS, ...v2c(c, small.port), '-On', '.1.3.6.1.4.1.32473']);
      const bulk = await tool('snmpbulkwalk', [...MIB_ARGS, ...v2c(c, small.port), '-On', '-Cr100', '.1.3.6.1.4.1.32473']);
      expect(bulk.code).toBe(0);
      expect(bulk.stdout).toBe(full.stdout);
      expect(full.stdout.split('\n').length).toBeGreaterThan(300);
      expect(small.running.stats.get('repliesCut')).toBeGreaterThan(0);
    } finally {
      await small.stop();
    }
  });
});

describe('FixedFigureSource', () => {
  it('hands the last snapshot to a late subscriber', () => {
    const source = new FixedFigureSource();
    source.push({ at: 1, services: [] });
    const seen: number[] = [];
    source.subscribe((f) => seen.push(f.at));
    expect(seen).toEqual([1]);
  });
});
