/**
 * scripts/clean.mjs (`pnpm clean`), run on a repository laid out here: every referenced project's
 * outDir goes whole, the output of a deleted source with it, and nothing else; an outDir outside
 * its project is refused before anything is removed.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, runProgram, type TempDir } from '@hearth/testkit';

const script = fileURLToPath(new URL('../../scripts/clean.mjs', import.meta.url));

let repo: TempDir | undefined;
afterEach(async () => {
  await repo?.remove();
  repo = undefined;
});

/** A repository whose root tsconfig.json references `projects` (name to outDir), each with a built file and an orphan. */
async function layOut(projects: Record<string, string>): Promise<string> {
  repo = await makeTempDir('hearth-clean-');
  const root = repo.path;
  const references = Object.keys(projects).map((name) => ({ path: `./packages/${name}` }));
  await writeFile(join(root, 'tsconfig.json'), JSON.stringify({ files: [], references }));
  for (const [name, outDir] of Object.entries(projects)) {
    const project = join(root, 'packages', name);
    await mkdir(join(project, 'src'), { recursive: true });
    await writeFile(join(project, 'src/index.ts'), 'export {};\n');
    await writeFile(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { rootDir: 'src', outDir } }));
    await mkdir(join(project, 'dist'), { recursive: true });
    await writeFile(join(project, 'dist/index.js'), 'export {};\n');
    // The output of a source deleted since: `tsc -b --clean` would leave it.
    await writeFile(join(project, 'dist/deleted-source.js'), 'export {};\n');
  }
  return root;
}

describe('scripts/clean.mjs', () => {
  it("removes every referenced project's outDir whole, outputs of deleted sources included, and nothing else", async () => {
    const root = await layOut({ a: 'dist', b: 'dist' });
    const r = await runProgram(process.execPath, [script, root]);
    expect(r, r.stderr).toMatchObject({ code: 0, stdout: 'removed packages/a/dist\nremoved packages/b/dist\n' });
    for (const name of ['a', 'b']) {
      expect(existsSync(join(root, 'packages', name, 'dist'))).toBe(false);
      expect(await readdir(join(root, 'packages', name))).toEqual(['src', 'tsconfig.json']);
    }
  });

  it('refuses an outDir outside its project, saying which, and removes nothing', async () => {
    const root = await layOut({ a: 'dist', b: '..' });
    const r = await runProgram(process.execPath, [script, root]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('clean: packages/b/tsconfig.json: outDir .. is not a folder inside the project; nothing removed\n');
    expect(r.stdout).toBe('');
    expect(await readdir(join(root, 'packages/a/dist'))).toEqual(['deleted-source.js', 'index.js']);
    expect(await readdir(join(root, 'packages/b/dist'))).toEqual(['deleted-source.js', 'index.js']);
  });
});
