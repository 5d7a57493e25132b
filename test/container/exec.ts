/** Finding programs for the container test (running them: `@hearth/testkit`'s `runProgram`). */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

/** The path of an executable on PATH, or null. */
export function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return join(dir, cmd);
    } catch {
      // not here
    }
  }
  return null;
}
