/**
 * `pnpm clean`: removes the output folder (`outDir`) of every project the root tsconfig.json
 * references, whole. `tsc -b --clean` removes only what the current sources would emit, so the
 * output of a source that was deleted or renamed stayed behind, where a test or an import could
 * still find it; a clean clone has none, and after this neither has a worktree.
 *
 *   node scripts/clean.mjs [ROOT]        ROOT: the repository (default: this script's)
 *
 * Every project's outDir is checked before anything is removed: one outside its project (or
 * missing) is refused with its tsconfig's name, and nothing is removed.
 */
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));

/** A tsconfig.json as parsed (Hearth's are plain JSON). */
function readConfig(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${relative(root, file)}: ${err.message}`);
  }
}

/** The output folders of the root tsconfig.json's references. */
function outputFolders() {
  const { references = [] } = readConfig(join(root, 'tsconfig.json'));
  return references.map(({ path }) => {
    const project = resolve(root, path);
    const config = `${relative(root, project)}/tsconfig.json`;
    const outDir = readConfig(join(project, 'tsconfig.json')).compilerOptions?.outDir;
    if (typeof outDir !== 'string') throw new Error(`${config}: no compilerOptions.outDir`);
    const folder = resolve(project, outDir);
    if (!folder.startsWith(project + sep)) throw new Error(`${config}: outDir ${outDir} is not a folder inside the project`);
    return folder;
  });
}

let folders;
try {
  folders = outputFolders();
} catch (err) {
  console.error(`clean: ${err.message}; nothing removed`);
  process.exit(1);
}
for (const folder of folders) {
  rmSync(folder, { recursive: true, force: true });
  console.log(`removed ${relative(root, folder)}`);
}
