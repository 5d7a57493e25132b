/**
 * The MIB file: smilint (which exits 0 even on errors, so its output is read) finds nothing at
 * level 6, and snmptranslate resolves every Hearth OID the agent serves to the name it means.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HEARTH } from '@hearth/snmp';
import { makeTempDir } from '@hearth/testkit';
import { MIB_DIRS, tool } from './fixture.js';

const MIB_FILE = fileURLToPath(new URL('../mib/HEARTH-MIB.txt', import.meta.url));

function smilint(level: number, file = MIB_FILE): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve) => {
    // smilint finds imported modules through SMIPATH (net-snmp's bundled IETF MIBs).
    execFile('smilint', ['-l', String(level), '-s', file], { env: { ...process.env, SMIPATH: MIB_DIRS } }, (err, stdout, stderr) => {
      resolve({ out: stdout + stderr, code: err ? (typeof err.code === 'number' ? err.code : 1) : 0 });
    });
  });
}

describe('HEARTH-MIB', () => {
  it('smilint -l 6 reports nothing (and does report a broken copy, so the check can fail)', async () => {
    const clean = await smilint(6);
    expect(clean.out).toBe('');
    const dir = await makeTempDir('hearth-mib-');
    try {
      const text = await readFile(MIB_FILE, 'utf8');
      await writeFile(join(dir.path, 'HEARTH-MIB.txt'), text.replace(/hearthServiceMemory\n(\s*})/, 'hearthServiceMemry\n$1'));
      const broken = await smilint(6, join(dir.path, 'HEARTH-MIB.txt'));
      expect(broken.out).toMatch(/hearthServiceMemry/);
    } finally {
      await dir.remove();
    }
  });

  it('snmptranslate resolves every table and column the agent serves', async () => {
    const expected: Record<string, string> = {
      [HEARTH.hearthMIB]: 'HEARTH-MIB::hearthMIB',
      [`${HEARTH.hearthServiceTable}.1.2`]: 'HEARTH-MIB::hearthServiceName',
      [`${HEARTH.hearthServiceTable}.1.4`]: 'HEARTH-MIB::hearthServiceState',
      [`${HEARTH.hearthServiceTable}.1.9`]: 'HEARTH-MIB::hearthServiceMemory',
      [`${HEARTH.hearthCounterTable}.1.5`]: 'HEARTH-MIB::hearthCounterValue',
      [`${HEARTH.hearthGaugeTable}.1.5`]: 'HEARTH-MIB::hearthGaugeValue',
    };
    for (const [oid, name] of Object.entries(expected)) {
      const r = await tool('snmptranslate', ['-M', MIB_DIRS, '-m', 'SNMPv2-MIB:HEARTH-MIB', `.${oid}`]);
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe(name);
    }
    const types = await tool('snmptranslate', ['-M', MIB_DIRS, '-m', 'SNMPv2-MIB:HEARTH-MIB', '-Td', 'HEARTH-MIB::hearthCounterValue']);
    expect(types.stdout).toContain('SYNTAX\tCounter64');
    expect(types.stdout).toContain('-- FROM\tHEARTH-MIB');
  });
});
