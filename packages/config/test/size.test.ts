/** Config files are bounded in size and parsed in time linear in their size. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, MAX_CONFIG_BYTES, parseConfigText } from '@hearth/config';
import { makeTempDir, type TempDir } from '@hearth/testkit';
import { hearth } from '@hearth/testkit/hearth-up';

let dir: TempDir | undefined;
afterEach(async () => {
  await dir?.remove();
  dir = undefined;
});

const schema = z.strictObject({ env: z.record(z.string(), z.string()).optional() });

/** CPU time (ms) to parse (and reject) a config of `n` unknown keys, each problem located. */
function cpuMsFor(n: number): number {
  const text = Array.from({ length: n }, (_, i) => `key${i}: v${i}`).join('\n');
  const before = process.cpuUsage();
  let problems = 0;
  try {
    parseConfigText(text, 'many.yaml', schema);
  } catch (err) {
    problems = (err as ConfigError).problems.length;
  }
  const used = process.cpuUsage(before);
  expect(problems).toBe(n);
  return (used.user + used.system) / 1000;
}

describe('config size', () => {
  it('hearth up refuses a config over 1 MiB with exit 78 and says why', async () => {
    dir = await makeTempDir('config-size-');
    const file = join(dir.path, 'big.yaml');
    await writeFile(file, `# ${'x'.repeat(100)}\n`.repeat(Math.ceil((MAX_CONFIG_BYTES + 1) / 103)));
    const ran = await hearth(['up', '--config', file, '--data', join(dir.path, 'data')]);
    expect(ran.code).toBe(78);
    expect(ran.stderr).toMatch(/big\.yaml: file is too big \(\d+ bytes; a config may have at most 1048576 bytes/);
  });

  it('parses in time linear in the number of keys (duplicate checks and problem positions included)', () => {
    cpuMsFor(2_000); // warm up
    const small = cpuMsFor(10_000);
    const large = cpuMsFor(40_000);
    // Four times the keys: about four times the time when linear, sixteen when quadratic.
    expect(large / small).toBeLessThan(8);
  });
});
