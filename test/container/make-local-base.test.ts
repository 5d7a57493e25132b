/**
 * docker/make-local-base.sh stopped while debootstrap runs (the container test's lifeline sends
 * its group SIGTERM when the test run is killed): it removes its work folder on the way out, after
 * unmounting what debootstrap had mounted in it, and never reaches into a bind mount it would
 * have missed. A stand-in `debootstrap` first on PATH mounts as the real one does in its second
 * stage (a file system of its own, a bind mount of a folder outside) and waits; no network, no
 * engine. Needs root (mount); runs with the suite.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { makeTempDir, waitFor, type TempDir } from '@hearth/testkit';
import { mountsUnder, removeDataRoot } from './engine.js';

const script = fileURLToPath(new URL('../../docker/make-local-base.sh', import.meta.url));

/**
 * Mounts its own /proc (a tmpfs with a file in it) and binds $OUTSIDE at /dev/shm, as debootstrap
 * mounts into its target, then waits. The target is debootstrap's second argument that is not an
 * option (`debootstrap [OPTION...] SUITE TARGET [MIRROR]`); one outside the script's $TMPDIR is
 * refused, so that a call it does not expect mounts nothing anywhere else.
 */
const STAND_IN = `#!/bin/sh
target=
n=0
for a in "$@"; do
  case "$a" in -*) continue ;; esac
  n=$((n + 1))
  [ "$n" = 2 ] && target=$a
done
case "$target" in "$TMPDIR"/*) ;; *) echo "stand-in debootstrap: target $target is not under $TMPDIR" >&2; exit 2 ;; esac
mkdir -p "$target/proc" "$target/dev/shm"
mount -t tmpfs stand-in "$target/proc"
echo inside > "$target/proc/file"
mount --bind "$OUTSIDE" "$target/dev/shm"
: > "$READY"
sleep 600 &
wait
`;

const cannotRun = process.getuid?.() !== 0 ? 'it mounts, which needs root' : null;

let dir: TempDir | undefined;
afterEach(async () => {
  // Whatever a failed run left mounted in it goes with the folder.
  if (dir !== undefined) await removeDataRoot(dir.path);
  dir = undefined;
});

if (cannotRun !== null && !process.env.CI) {
  it.skip(`make-local-base.sh stopped while debootstrap runs (skipped: ${cannotRun})`, () => {});
} else {
  it('removes its work folder when stopped while debootstrap runs, its mounts first, and nothing outside it', async () => {
    if (cannotRun !== null) throw new Error(`this CI machine cannot run the test: ${cannotRun}`);
    dir = await makeTempDir('hearth-local-base-');
    const bin = join(dir.path, 'bin');
    const tmp = join(dir.path, 'tmp');
    const outside = join(dir.path, 'outside');
    const ready = join(dir.path, 'ready');
    await mkdir(bin);
    await mkdir(tmp);
    await mkdir(outside);
    await writeFile(join(outside, 'host-file'), 'the host keeps this');
    await writeFile(join(bin, 'debootstrap'), STAND_IN);
    await chmod(join(bin, 'debootstrap'), 0o755);
    const child = spawn('sh', [script, '--fetch', join(dir.path, 'fetched')], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, TMPDIR: tmp, OUTSIDE: outside, READY: ready },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor(() => existsSync(ready), { timeout: 10_000, what: `the stand-in debootstrap to mount and wait (stderr: ${stderr})` });
      const [work] = await readdir(tmp);
      expect(work).toBeDefined();
      expect((await mountsUnder(join(tmp, work!))).length).toBe(2);
      process.kill(-child.pid!, 'SIGTERM'); // our own child's group, as the lifeline stops it
      expect(await exited).toBe(143);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL'); // our own child's group: whatever is left of it
      } catch {
        // gone already
      }
    }
    expect(await readdir(tmp)).toEqual([]);
    expect(await mountsUnder(tmp)).toEqual([]);
    expect(await readFile(join(outside, 'host-file'), 'utf8')).toBe('the host keeps this');
  });
}
