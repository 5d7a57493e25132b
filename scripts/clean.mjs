/**
 * `pnpm clean`: removes the output folder (`outDir`) of every project the root tsconfig.json
 * references, whole. `tsc -b --clean` removes only what the current sources would emit, so the
 * output of a source that was deleted or renamed stayed behind, where a test or an import could
 * still find it; a clean clone has none, and after this neither has a worktree.
 */
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** A tsconfig.json as parsed (Hearth's are plain JSON). */
function readConfig(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${relative(root, file)}: ${err.message}`);
  }
}

const { references = [] } = readConfig(join(root, 'tsconfig.json'));
for (const { path } of references) {
  const project = resolve(root, path);
  const outDir = readConfig(join(project, 'tsconfig.json')).compilerOptions?.outDir;
  if (typeof outDir !== 'string') throw new Error(`${relative(root, project)}/tsconfig.json: no compilerOptions.outDir`);
  const folder = resolve(project, outDir);
  if (!folder.startsWith(project + sep)) throw new Error(`${relative(root, project)}/tsconfig.json: outDir ${outDir} is not a folder inside the project`);
  rmSync(folder, { recursive: true, force: true });
  console.log(`removed ${relative(root, folder)}`);
}
