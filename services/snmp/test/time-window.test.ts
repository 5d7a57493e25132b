/**
 * SNMPv3 timeliness (RFC 3414 3.2 steps 3 and 7), which net-snmp's agent lacks: a captured
 * authPriv request from Debian's snmpget is served when replayed at once, refused with a
 * notInTimeWindow report once the engine's time moved past the 150 s window and after the agent
 * restarted (boots + 1); a request for another engine ID gets an unknownEngineID report; snmpget
 * sent a stale time resynchronises from the authenticated report and is answered.
 */
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE } from '@hearth/snmp';
import { makeTempDir, waitFor, type TempDir } from '@hearth/testkit';
import { MIB_ARGS, fixtureService, startAgent, tool, type AgentFixture } from './fixture.js';

const USER = { name: 'monitor', auth: { protocol: 'sha256', key: 'auth-secret-1' }, priv: { protocol: 'aes128', key: 'priv-secret-1' } };
const V3 = ['-v3', '-l', 'authPriv', '-u', 'monitor', '-a', 'SHA-256', '-A', 'auth-secret-1', '-x', 'AES', '-X', 'priv-secret-1', '-t', '1', '-r', '0'];
/** usmStatsNotInTimeWindows.0 and usmStatsUnknownEngineIDs.0, as BER OIDs. */
const NOT_IN_TIME_WINDOW = Buffer.from('060a2b060106030f01010200', 'hex');
const UNKNOWN_ENGINE_ID = Buffer.from('060a2b060106030f01010400', 'hex');

/** A UDP relay between snmpget and the agent that keeps every request it passed on. */
async function relay(agentPort: number): Promise<{ port: number; requests: Buffer[]; close(): void }> {
  const front = dgram.createSocket('udp4');
  const back = dgram.createSocket('udp4');
  const requests: Buffer[] = [];
  let client: dgram.RemoteInfo | undefined;
  front.on('message', (data, rinfo) => {
    client = rinfo;
    requests.push(data);
    back.send(data, agentPort, '127.0.0.1');
  });
  back.on('message', (data) => client && front.send(data, client.port, client.address));
  await new Promise<void>((resolve) => front.bind(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => back.bind(0, '127.0.0.1', resolve));
  return { port: front.address().port, requests, close: () => (front.close(), back.close()) };
}

/** Sends `data` to the agent from a fresh socket; the reply, or undefined after `ms`. */
async function replay(port: number, data: Buffer, ms = 1000): Promise<Buffer | undefined> {
  const socket = dgram.createSocket('udp4');
  try {
    return await new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), ms);
      socket.on('message', (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      socket.send(data, port, '127.0.0.1');
    });
  } finally {
    socket.close();
  }
}

describe('SNMPv3 time window', () => {
  let data: TempDir;
  let agent: AgentFixture;
  let offsetMs = 0;
  const clock = () => performance.now() + offsetMs;
  let captured: Buffer;
  const figures = () => ({ at: Date.now(), services: [fixtureService('pop3', { total: 9, open: 1, bytesIn: 99 })] });

  beforeAll(async () => {
    data = await makeTempDir('hearth-snmp-window-');
    agent = await startAgent({ users: [USER] }, figures(), data, { clock });
  });
  afterAll(async () => {
    await agent.stop();
    await data.remove();
  });

  it('snmpget -v3 is served; its captured request replayed at once is served too (within the window)', async () => {
    const r = await relay(agent.port);
    try {
      const got = await tool('snmpget', [...MIB_ARGS, ...V3, '-Oqv', `127.0.0.1:${r.port}`, 'HEARTH-MIB::hearthServiceName.1']);
      expect(got.stderr).toBe('');
      expect(got.stdout.trim()).toBe('pop3');
    } finally {
      r.close();
    }
    // Discovery (no authentication, flags 0x04) then the authPriv request (flags 0x07).
    expect(r.requests.length).toBeGreaterThanOrEqual(2);
    captured = r.requests.at(-1)!;
    const answer = await replay(agent.port, captured);
    expect(answer).toBeDefined();
    expect(answer!.includes(NOT_IN_TIME_WINDOW)).toBe(false);
    expect(agent.running.stats.get('notInTimeWindow')).toBe(0);
  });

  it('refuses the same request once the engine time is 151 s further, with a notInTimeWindow report', async () => {
    offsetMs += 152_000;
    const before = agent.running.stats.get('notInTimeWindow');
    const answer = await replay(agent.port, captured);
    expect(answer).toBeDefined();
    expect(answer!.includes(NOT_IN_TIME_WINDOW)).toBe(true);
    expect(agent.running.stats.get('notInTimeWindow')).toBe(before + 1);
    // A fresh snmpget discovers the new time and is served.
    const got = await tool('snmpget', [...MIB_ARGS, ...V3, '-Oqv', `127.0.0.1:${agent.port}`, `${ENGINE.snmpEngineTime}.0`]);
    expect(got.stderr).toBe('');
    expect(Number(got.stdout.trim())).toBeGreaterThanOrEqual(152);
  });

  it('snmpget told a stale time (-Z) resynchronises from the authenticated report and is served', async () => {
    const engine = agent.running.engine;
    const before = agent.running.stats.get('notInTimeWindow');
    const got = await tool('snmpget', [...MIB_ARGS, ...V3, '-e', engine.engineId.toString('hex'), '-Z', `${engine.boots},1`, '-Oqv', `127.0.0.1:${agent.port}`, 'HEARTH-MIB::hearthServiceName.1']);
    expect(got.stderr).toBe('');
    expect(got.stdout.trim()).toBe('pop3');
    expect(agent.running.stats.get('notInTimeWindow')).toBe(before + 1);
  });

  it('an authenticated request for another engine ID gets an unknownEngineID report, not an answer', async () => {
    const before = agent.running.stats.get('unknownEngineIds');
    const other = `80007ed905${'ab'.repeat(12)}`;
    const got = await tool('snmpget', [...MIB_ARGS, ...V3, '-e', other, '-Z', `${agent.running.engine.boots},0`, '-Oqv', `127.0.0.1:${agent.port}`, 'HEARTH-MIB::hearthServiceName.1']);
    expect(got.code).not.toBe(0);
    expect(got.stdout).not.toContain('pop3');
    expect(got.stderr).toMatch(/Unknown Engine ID/i);
    expect(agent.running.stats.get('unknownEngineIds')).toBeGreaterThanOrEqual(before + 1);
  });

  it('after a restart (boots + 1, the time back near 0) the captured request is refused all the same', async () => {
    await agent.stop();
    offsetMs = 0;
    agent = await startAgent({ users: [USER] }, figures(), data, { clock });
    expect(agent.running.engine.boots).toBe(2);
    const answer = await replay(agent.port, captured);
    expect(answer).toBeDefined();
    expect(answer!.includes(NOT_IN_TIME_WINDOW)).toBe(true);
    expect(answer!.includes(UNKNOWN_ENGINE_ID)).toBe(false);
    await waitFor(() => agent.running.stats.get('notInTimeWindow') === 1, { what: 'the refusal counted' });
  });
});
