/** PATH lookup, so a missing command is reported before anything starts. */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

/** Whether `path` is a directory (a `cwd:` that can be used). */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The absolute path `command` would run as, or undefined if there is no such executable. */
export function findExecutable(command: string, pathEnv: string | undefined = process.env['PATH'], cwd = process.cwd()): string | undefined {
  const candidates = command.includes('/')
    ? [isAbsolute(command) ? command : resolve(cwd, command)]
    : (pathEnv ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, command));
  for (const file of candidates) {
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}
