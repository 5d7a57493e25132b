import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The modules of the `yaml` package a fresh Node process has loaded after importing `entry` (yaml's Node build is CommonJS). */
async function yamlModulesLoadedBy(entry: string): Promise<number> {
  const script = `
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(entry)});
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    console.log(loaded.filter((file) => file.includes('/node_modules/yaml/')).length);
  `;
  // From the package's own folder, so that `@hearth/config` is its own exports map (self-reference).
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: PACKAGE_DIR });
  return Number(stdout.trim());
}

describe('entries', () => {
  it('the main entry loads the YAML parser; the value types (for the services) and the errors do not', async () => {
    expect(await yamlModulesLoadedBy('@hearth/config')).toBeGreaterThan(0);
    expect(await yamlModulesLoadedBy('@hearth/config/types')).toBe(0);
    expect(await yamlModulesLoadedBy('@hearth/config/errors')).toBe(0);
  });
});
