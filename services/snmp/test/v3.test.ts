/**
 * SNMPv3 authPriv (SHA-2, AES) with Debian's tools, wrong users and keys unanswered, and the
 * engine ID and boots kept in the data dir across restarts; the generated community's file.
 */
import { stat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMUNITY_FILE, ENGINE, STATE_DIR } from '@hearth/snmp';
import { makeTempDir, type TempDir } from '@hearth/testkit';
import { MIB_ARGS, fixtureService, startAgent, tool, v2c, type AgentFixture } from './fixture.js';

const USERS = [
  { name: 'monitor', auth: { protocol: 'sha256', key: 'auth-secret-1' }, priv: { protocol: 'aes128', key: 'priv-secret-1' } },
  { name: 'strong', auth: { protocol: 'sha512', key: 'auth-secret-2' }, priv: { protocol: 'aes128', key: 'priv-secret-2' } },
];

function v3(port: number, user: string, authProto: string, auth: string, priv: string): string[] {
  return ['-v3', '-l', 'authPriv', '-u', user, '-a', authProto, '-A', auth, '-x', 'AES', '-X', priv, '-t', '1', '-r', '0', `127.0.0.1:${port}`];
}

describe('SNMPv3 users from the config', () => {
  let agent: AgentFixture;
  beforeAll(async () => {
    agent = await startAgent({ users: USERS }, { at: Date.now(), services: [fixtureService('pop3', { total: 9, open: 1, bytesIn: 99 })] });
  });
  afterAll(() => agent.stop());

  it('serve authPriv with SHA-256 and SHA-512 over AES', async () => {
    for (const [user, proto, auth, priv] of [
      ['monitor', 'SHA-256', 'auth-secret-1', 'priv-secret-1'],
      ['strong', 'SHA-512', 'auth-secret-2', 'priv-secret-2'],
    ] as const) {
      const r = await tool('snmpwalk', [...MIB_ARGS, ...v3(agent.port, user, proto, auth, priv), 'HEARTH-MIB::hearthServiceName']);
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('HEARTH-MIB::hearthServiceName.1 = STRING: pop3');
    }
    const bulk = await tool('snmpbulkwalk', [...MIB_ARGS, ...v3(agent.port, 'monitor', 'SHA-256', 'auth-secret-1', 'priv-secret-1'), 'HEARTH-MIB::hearthCounterValue']);
    expect(bulk.stdout.trim().split('\n')).toEqual(['HEARTH-MIB::hearthCounterValue.1.1 = Counter64: 9', 'HEARTH-MIB::hearthCounterValue.1.3 = Counter64: 99']);
  });

  it('an unknown user, a wrong key or a missing privacy gets no answer', async () => {
    const stats = agent.running.stats;
    const unknown = stats.get('unknownUsers');
    const failures = stats.get('authFailures');
    const attempts = [
      v3(agent.port, 'nobody', 'SHA-256', 'auth-secret-1', 'priv-secret-1'),
      v3(agent.port, 'monitor', 'SHA-256', 'wrong-secret', 'priv-secret-1'),
      ['-v3', '-l', 'authNoPriv', '-u', 'monitor', '-a', 'SHA-256', '-A', 'auth-secret-1', '-t', '1', '-r', '0', `127.0.0.1:${agent.port}`],
    ];
    for (const args of attempts) {
      const r = await tool('snmpget', [...MIB_ARGS, ...args, 'sysName.0']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/Timeout: No Response from 127\.0\.0\.1/);
    }
    expect(stats.get('unknownUsers')).toBe(unknown + 1);
    expect(stats.get('authFailures')).toBe(failures + 2);
  });

  it('no v2c community is served when the config names only users', async () => {
    expect(agent.running.communities()).toEqual([]);
    const r = await tool('snmpget', [...MIB_ARGS, ...v2c('public', agent.port), 'sysName.0']);
    expect(r.stderr).toMatch(/Timeout/);
  });
});

describe('what the agent keeps in the data dir', () => {
  let data: TempDir;
  beforeAll(async () => {
    data = await makeTempDir('hearth-snmp-state-');
  });
  afterAll(() => data.remove());

  async function engineOf(agent: AgentFixture): Promise<string[]> {
    const r = await tool('snmpget', [...MIB_ARGS, ...v3(agent.port, 'monitor', 'SHA-256', 'auth-secret-1', 'priv-secret-1'), '-Ov', `${ENGINE.snmpEngineID}.0`, `${ENGINE.snmpEngineBoots}.0`]);
    expect(r.stderr).toBe('');
    return r.stdout.trim().split('\n');
  }

  it('keeps the engine ID and raises the boots at every start', async () => {
    const first = await startAgent({ users: USERS }, undefined, data);
    const a = await engineOf(first);
    await first.stop();
    const second = await startAgent({ users: USERS }, undefined, data);
    const b = await engineOf(second);
    await second.stop();
    expect(a[0]).toMatch(/^Hex-STRING: 80 00 7E D9 05/);
    expect(b[0]).toBe(a[0]);
    expect(a.at(-1)).toBe('INTEGER: 1');
    expect(b.at(-1)).toBe('INTEGER: 2');
  });

  it('generates one community at first start, 0600, never "public", and keeps it', async () => {
    const first = await startAgent({}, undefined, data);
    const community = first.running.communities()[0]!;
    await first.stop();
    expect(community).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const path = join(data.path, STATE_DIR, COMMUNITY_FILE);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(data.path, STATE_DIR))).mode & 0o777).toBe(0o700);
    expect((await readFile(path, 'utf8')).trim()).toBe(community);
    const second = await startAgent({}, undefined, data);
    try {
      expect(second.running.communities()).toEqual([community]);
      const pub = await tool('snmpget', [...MIB_ARGS, ...v2c('public', second.port), 'sysName.0']);
      expect(pub.stderr).toMatch(/Timeout/);
      const ok = await tool('snmpget', [...MIB_ARGS, ...v2c(community, second.port), '-Ov', 'sysUpTime.0']);
      expect(ok.stdout).toMatch(/^Timeticks: /);
    } finally {
      await second.stop();
    }
  });
});
