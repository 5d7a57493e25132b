/**
 * The pnpm the repository pins (package.json's `packageManager`) is the one every command in it
 * names, and CI runs the README's test command verbatim: moving the pin is one edit in
 * package.json and a failing test for each place not moved with it. (The image's build is checked
 * in test/container/compose.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFile(`${root}${path}`, 'utf8');

/** The shell commands of the README's quick start, in order (its `sh` blocks). */
async function quickStart(): Promise<string[]> {
  return [...(await read('README.md')).matchAll(/^```sh\n([^\n]+)\n```$/gm)].map((m) => m[1]!).slice(0, 2);
}

describe('the pinned pnpm', () => {
  it('is what every pnpm@VERSION in the repository names', async () => {
    const { packageManager } = JSON.parse(await read('package.json')) as { packageManager: string };
    expect(packageManager).toMatch(/^pnpm@\d+\.\d+\.\d+$/);
    const files = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f !== '' && f !== 'pnpm-lock.yaml');
    const named: string[] = [];
    for (const file of files) {
      for (const m of (await read(file).catch(() => '')).matchAll(/pnpm@\d+\.\d+\.\d+/g)) named.push(`${file}: ${m[0]}`);
    }
    expect(named.length).toBeGreaterThan(2);
    expect(named.filter((n) => !n.endsWith(`: ${packageManager}`))).toEqual([]);
  });

  it("is run by CI exactly as the README's test command says", async () => {
    const [start, test] = await quickStart();
    expect(start).toMatch(/ start$/);
    expect(test).toMatch(/ test$/);
    const ci = (await read('.ci/run')).split('\n').filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('set ') && !line.startsWith('cd '));
    expect(ci).toEqual([test]);
  });
});
