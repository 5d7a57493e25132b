/**
 * A secret kept in a file of its own (mode 0600, its folder 0700), made once and then read: the
 * metrics token and the setup token. Imports nothing heavy: the CLI reads both.
 */
import { chmodSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { FileWriteError, syncFolderSync } from '@hearth/durable';

/** The token in `path` when it holds one that `valid` accepts (trimmed), else undefined. */
export function readToken(path: string, valid: (token: string) => boolean): string | undefined {
  let token: string;
  try {
    token = readFileSync(path, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return valid(token) ? token : undefined;
}

/**
 * The token in `path`, or `make()`'s, written there. The file appears whole or not at all: the
 * token is written to a temporary, which is then linked to the name, so that of two processes
 * making it at once (a standby and the running instance) both keep the first one's. A file that
 * holds no valid token (an empty one, left by a write cut short before this was so) is replaced.
 * The token is synced with its folder before it is given out, so a power loss cannot take back a
 * token already shown. A failure (a full disk) leaves nothing behind and is thrown as a
 * `FileWriteError` naming the file.
 */
export function keepToken(path: string, valid: (token: string) => boolean, make: () => string): string {
  const saved = readToken(path, valid);
  if (saved !== undefined) return saved;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const token = make();
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${token}\n`, { mode: 0o600, flush: true });
    chmodSync(tmp, 0o600);
    try {
      linkSync(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const other = readToken(path, valid);
      if (other !== undefined) return other;
      renameSync(tmp, path);
    }
  } catch (err) {
    throw new FileWriteError(path, err);
  } finally {
    rmSync(tmp, { force: true });
  }
  // After the temporary's removal: a power loss leaves neither it nor a token not yet kept.
  try {
    syncFolderSync(dirname(path));
  } catch (err) {
    throw new FileWriteError(path, err);
  }
  return token;
}
