/**
 * Claiming a data dir: one supervisor per data dir. `DATA/hearth.lock` holds the owner's pid
 * (created exclusively); a lock whose process is gone is stale and replaced. The control socket is
 * probed too, so a live supervisor is never displaced even if its lock file was removed.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { socketIsLive } from './control-client.js';
import { LOCK_NAME, SOCKET_NAME } from './control-protocol.js';

export class StartupError extends Error {
  override readonly name = 'StartupError';
}

export interface DataDirClaim {
  readonly dir: string;
  readonly socketPath: string;
  release(): void;
}

function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A recycled pid of another program does not hold the lock.
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('node');
  } catch {
    return true;
  }
}

export async function claimDataDir(dir: string): Promise<DataDirClaim> {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new StartupError(`data dir ${dir}: cannot create it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const socketPath = join(dir, SOCKET_NAME);
  if (Buffer.byteLength(socketPath) > 107) throw new StartupError(`data dir ${dir}: path too long for a unix socket (${socketPath})`);
  if (await socketIsLive(socketPath)) throw new StartupError(`hearth is already running for data dir ${dir}`);
  const lockPath = join(dir, LOCK_NAME);
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(lockPath, 'wx', 0o600);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && attempt === 0) {
        const pid = Number(readFileSync(lockPath, 'utf8').trim());
        if (pidAlive(pid) && pid !== process.pid) throw new StartupError(`hearth is already running for data dir ${dir} (pid ${pid})`);
        unlinkSync(lockPath);
        continue;
      }
      if (code === 'EEXIST') throw new StartupError(`data dir ${dir}: another hearth is starting`);
      throw new StartupError(`data dir ${dir} is not writable (${code ?? (err as Error).message})`);
    }
    try {
      writeSync(fd, `${process.pid}\n`);
    } catch (err) {
      closeSync(fd);
      unlinkSync(lockPath);
      throw new StartupError(`data dir ${dir} is not writable (${(err as NodeJS.ErrnoException).code ?? ''})`);
    }
    closeSync(fd);
    break;
  }
  return {
    dir,
    socketPath,
    release() {
      try {
        if (Number(readFileSync(lockPath, 'utf8').trim()) === process.pid) unlinkSync(lockPath);
      } catch {
        // gone already
      }
    },
  };
}
