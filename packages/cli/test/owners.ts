/** Who owns what a verb made: for the tests of verbs run as root on a data dir another user owns. */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** nobody: the user the services run as in these tests. */
export const NOBODY = 65534;

/** Every path under `root` (itself included) whose owner or group is not `id`: its path below `root` and `uid:gid`. */
export function notOwnedBy(root: string, id: number): string[] {
  const found: string[] = [];
  const walk = (path: string): void => {
    const stats = lstatSync(path);
    if (stats.uid !== id || stats.gid !== id) found.push(`${path.slice(root.length)} ${stats.uid}:${stats.gid}`);
    if (stats.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(root);
  return found;
}
