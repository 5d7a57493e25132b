/**
 * Value clamps, the service numbers and engine state kept on disk (also on a full disk: a small
 * tmpfs mounted by the test, as root), the manifest, and rows following the figures.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceIndex, counter32, counter64, counters, displayString, encode, gauge32, manifest, startEngine, timeTicks } from '@hearth/snmp';
import { declarationProblems } from '@hearth/metrics';
import { makeTempDir, mountSmallDisk, type SmallDisk, type TempDir } from '@hearth/testkit';
import { MIB_ARGS, fixtureService, startAgent, tool, v2c, type AgentFixture } from './fixture.js';

describe('values', () => {
  it('clamps every type into its range and never throws', () => {
    expect(timeTicks(-5)).toBe(0);
    expect(timeTicks(12_345)).toBe(1234);
    expect(timeTicks(2 ** 32 * 10 + 12_345)).toBe(1234);
    expect(timeTicks(Number.NaN)).toBe(0);
    expect(gauge32(-1)).toBe(0);
    expect(gauge32(2 ** 40)).toBe(2 ** 32 - 1);
    expect(counter32(2 ** 32 + 5)).toBe(5);
    expect(counter64(5)).toEqual(Buffer.from([0, 0, 0, 0, 0, 0, 0, 5]));
    expect(counter64(-1)).toEqual(Buffer.alloc(8));
    expect(counter64(2n ** 70n)).toEqual(Buffer.alloc(8, 0xff));
    expect(counter64('junk')).toEqual(Buffer.alloc(8));
    expect(displayString('caf\u00e9\n'.repeat(100))).toHaveLength(255);
    expect(displayString('caf\u00e9\n')).toBe('caf??');
    expect(encode('integer', 2 ** 40)).toBe(2 ** 31 - 1);
    expect(encode('oid', 'not.an.oid')).toBe('0.0');
  });
});

describe('state on a full disk', () => {
  let disk: SmallDisk;
  let mnt: string;
  beforeAll(() => {
    disk = mountSmallDisk('1m', 'hearth-snmp-full-');
    mnt = disk.path;
  });
  afterAll(() => disk?.unmount());

  it('refuses to start the engine without raising its boots, naming the file and leaving no temporary', () => {
    expect(startEngine(mnt).boots).toBe(1);
    const unsaved: string[] = [];
    const index = ServiceIndex.inDir(mnt, undefined, (name) => unsaved.push(name));
    expect(index.indexOf('smtp')).toBe(1);
    disk.fill();
    expect(() => startEngine(mnt)).toThrow(`cannot write ${join(mnt, 'engine.json')}: ENOSPC`);
    expect(JSON.parse(readFileSync(join(mnt, 'engine.json'), 'utf8')).boots).toBe(1);
    // A new service still gets its row, the number kept in memory until it can be written.
    expect([index.indexOf('pop3'), index.indexOf('pop3')]).toEqual([2, 2]);
    expect(unsaved).toEqual(['pop3']);
    expect(readdirSync(mnt).sort()).toEqual(['engine.json', 'filler', 'services.json']);
    rmSync(join(mnt, 'filler'));
    expect(index.indexOf('biff')).toBe(3);
    expect(JSON.parse(readFileSync(join(mnt, 'services.json'), 'utf8'))).toEqual({ names: { smtp: 1, pop3: 2, biff: 3 } });
    expect(startEngine(mnt).boots).toBe(2);
  });

  it('names an engine file that is not JSON', () => {
    writeFileSync(join(mnt, 'engine.json'), '{"engineId": "80');
    expect(() => startEngine(mnt)).toThrow(`${join(mnt, 'engine.json')}: not JSON`);
  });
});

describe('manifest', () => {
  it('defaults: 127.0.0.1:2161/udp, no communities configured (one is generated), bounded bulk', () => {
    expect(manifest.kind).toBe('snmp');
    expect(manifest.defaultListeners).toEqual([{ name: 'snmp', protocol: 'udp', address: '127.0.0.1', port: 2161, tls: false }]);
    const s = manifest.settings.parse({});
    expect(s.communities).toBeUndefined();
    expect(s.users).toEqual([]);
    expect(s.limits).toEqual({ maxRepetitions: 100, maxVarbinds: 1000, maxMessageSize: 65_507 });
    expect(declarationProblems(counters)).toEqual([]);
    expect(manifest.counters).toBe(counters);
  });

  it('is strict, and refuses short secrets and non-SHA-2 or non-AES users', () => {
    expect(manifest.settings.safeParse({ comunities: ['longenough'] }).success).toBe(false);
    expect(manifest.settings.safeParse({ communities: ['public'] }).success).toBe(false);
    const user = { name: 'u', auth: { protocol: 'sha256', key: 'longenough' }, priv: { protocol: 'aes128', key: 'longenough' } };
    expect(manifest.settings.safeParse({ users: [user] }).success).toBe(true);
    expect(manifest.settings.safeParse({ users: [{ ...user, auth: { protocol: 'md5', key: 'longenough' } }] }).success).toBe(false);
    expect(manifest.settings.safeParse({ users: [{ ...user, priv: { protocol: 'des', key: 'longenough' } }] }).success).toBe(false);
    expect(manifest.settings.safeParse({ users: [{ ...user, priv: { protocol: 'aes128', key: 'short' } }] }).success).toBe(false);
  });
});

describe('ServiceIndex', () => {
  let dir: TempDir;
  beforeAll(async () => {
    dir = await makeTempDir('hearth-snmp-index-');
  });
  afterAll(() => dir.remove());

  it('gives each name a number once, keeps it on disk, never reuses one', async () => {
    const a = ServiceIndex.inDir(dir.path);
    expect([a.indexOf('smtp'), a.indexOf('pop3'), a.indexOf('smtp')]).toEqual([1, 2, 1]);
    const b = ServiceIndex.inDir(dir.path);
    expect([b.indexOf('pop3'), b.indexOf('biff')]).toEqual([2, 3]);
    expect(JSON.parse(await readFile(join(dir.path, 'services.json'), 'utf8'))).toEqual({ names: { smtp: 1, pop3: 2, biff: 3 } });
  });
});

describe('rows follow the figures', () => {
  let agent: AgentFixture;
  beforeAll(async () => {
    agent = await startAgent({}, { at: Date.now(), services: [fixtureService('a', { total: 1, open: 0, bytesIn: 0 }), fixtureService('b', { total: 2, open: 0, bytesIn: 0 })] });
  });
  afterAll(() => agent.stop());

  async function names(): Promise<string[]> {
    const r = await tool('snmpwalk', [...MIB_ARGS, ...v2c(agent.running.communities()[0]!, agent.port), 'HEARTH-MIB::hearthServiceName']);
    return r.stdout.trim().split('\n').filter(Boolean);
  }

  it('a removed service loses its rows, a new one gets the next number, a returning one its old number', async () => {
    expect(await names()).toEqual(['HEARTH-MIB::hearthServiceName.1 = STRING: a', 'HEARTH-MIB::hearthServiceName.2 = STRING: b']);
    agent.source.push({ at: Date.now(), services: [fixtureService('b', { total: 3, open: 0, bytesIn: 0 }), fixtureService('c', { total: 0, open: 0, bytesIn: 0 })] });
    expect(await names()).toEqual(['HEARTH-MIB::hearthServiceName.2 = STRING: b', 'HEARTH-MIB::hearthServiceName.3 = STRING: c']);
    const counterRows = await tool('snmpwalk', [...MIB_ARGS, ...v2c(agent.running.communities()[0]!, agent.port), 'HEARTH-MIB::hearthCounterValue']);
    expect(counterRows.stdout).not.toMatch(/hearthCounterValue\.1\./);
    expect(counterRows.stdout).toContain('hearthCounterValue.2.1 = Counter64: 3');
    agent.source.push({ at: Date.now(), services: [fixtureService('a', { total: 0, open: 0, bytesIn: 0 })] });
    expect(await names()).toEqual(['HEARTH-MIB::hearthServiceName.1 = STRING: a']);
  });
});
