/**
 * A small disk for tests of what a full one does: a tmpfs mounted on a fresh temp dir (the tests
 * run as root: mount needs CAP_SYS_ADMIN), and a file that takes all its room.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmdirSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallDisk {
  readonly path: string;
  /** Bytes an unprivileged writer may still use. */
  free(): number;
  /** Appends to `file` (in the disk's root by default) until even 512 bytes do not fit. */
  fill(file?: string): void;
  unmount(): void;
}

/** A tmpfs of `size` (mount's syntax: `12m`, `256k`), mode 0700, on a new dir named `prefix...`. */
export function mountSmallDisk(size: string, prefix: string): SmallDisk {
  const path = mkdtempSync(join(tmpdir(), prefix));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', path], { stdio: 'pipe' });
  } catch (error) {
    rmdirSync(path);
    throw new Error(`mounting a ${size} tmpfs needs root (CAP_SYS_ADMIN): ${String(error)}`);
  }
  return {
    path,
    free() {
      const fs = statfsSync(path);
      return fs.bavail * fs.bsize;
    },
    fill(file = join(path, 'filler')) {
      const fd = openSync(file, 'a');
      try {
        for (const size of [256 * 1024, 4096, 512]) {
          const chunk = Buffer.alloc(size, 1);
          for (;;) {
            try {
              writeSync(fd, chunk);
            } catch (error) {
              if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
              throw error;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    unmount() {
      execFileSync('umount', [path]);
      rmdirSync(path);
    },
  };
}
