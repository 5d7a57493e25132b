/**
 * Real clients from Debian: rclone's WebDAV backend (vendor owncloud, which sends X-OC-Mtime)
 * syncs a tree of a few hundred files up and back, byte-identical with modification times kept;
 * cadaver, scripted, does put/get/mkcol/move/lock/unlock.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProgram } from '@hearth/testkit';
import { startServer, type Harness } from './helpers.js';

let h: Harness;
const work = mkdtempSync(join(tmpdir(), 'files-clients-'));

beforeAll(async () => {
  h = await startServer();
});
afterAll(async () => {
  await h.close();
  rmSync(work, { recursive: true, force: true });
});

/** Runs a client, which must exit 0: what it printed, stdout then stderr (where rclone's `-v` goes). */
async function run(cmd: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<string> {
  const r = await runProgram(cmd, args, { ...options, env: { ...process.env, ...options.env }, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit code ${r.code}\n${r.stdout}\n${r.stderr}`);
  return `${r.stdout}${r.stderr}`;
}

/** Every file below `dir`: relative path → [content, mtime in whole seconds]. */
function snapshot(dir: string): Map<string, [string, number]> {
  const out = new Map<string, [string, number]>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), [readFileSync(p).toString('base64'), Math.floor(statSync(p).mtimeMs / 1000)]);
    }
  };
  walk(dir);
  return out;
}

describe('rclone', () => {
  it('syncs a tree up and back, byte-identical with modification times', async () => {
    const src = join(work, 'src');
    let n = 0;
    for (let a = 0; a < 4; a++) {
      for (let b = 0; b < 5; b++) {
        const dir = join(src, `dir ${a}`, `sub-${b}`, b % 2 === 0 ? 'deeper' : '');
        mkdirSync(dir, { recursive: true });
        for (let f = 0; f < 10; f++) {
          const p = join(dir, `file ${f} é${n}.bin`);
          writeFileSync(p, randomBytes((n * 7919) % 40_000));
          const t = 1_500_000_000 + n * 3601;
          utimesSync(p, t, t);
          n++;
        }
      }
    }
    expect(n).toBe(200);
    const env = {
      RCLONE_CONFIG: join(work, 'no-rclone.conf'),
      RCLONE_CONFIG_DAV_TYPE: 'webdav',
      RCLONE_CONFIG_DAV_URL: `${h.url}/files/`,
      RCLONE_CONFIG_DAV_VENDOR: 'owncloud',
      RCLONE_CONFIG_DAV_USER: 'alice',
      RCLONE_CONFIG_DAV_PASS: (await run('rclone', ['obscure', 'secret'])).trim(),
    };
    await run('rclone', ['sync', '--transfers', '16', src, 'dav:tree'], { env });
    const before = snapshot(src);
    // On the server: the same bytes with the same times (X-OC-Mtime applied).
    expect(snapshot(join(h.shareDir, 'tree'))).toEqual(before);

    const back = join(work, 'back');
    await run('rclone', ['sync', '--transfers', '16', 'dav:tree', back], { env });
    expect(snapshot(back)).toEqual(before);

    // A second round: one file changed, one removed; only those move.
    const changed = join(src, 'dir 0', 'sub-1', 'file 3 é13.bin');
    writeFileSync(changed, 'changed');
    utimesSync(changed, 1_700_000_000, 1_700_000_000);
    rmSync(join(src, 'dir 3', 'sub-4', 'deeper', 'file 9 é199.bin'));
    const out = await run('rclone', ['sync', '-v', src, 'dav:tree'], { env });
    expect(out).toMatch(/Copied \(replaced existing\)/);
    expect(out).toMatch(/Deleted/);
    await run('rclone', ['sync', 'dav:tree', back], { env });
    expect(snapshot(back)).toEqual(snapshot(src));
    // Three rclone runs over 200 files: about 10 s on a quiet machine, several times that on a busy one.
  }, 120_000);
});

describe('cadaver', () => {
  it('does put, get, mkcol, move, lock and unlock', async () => {
    const home = join(work, 'cadaver-home');
    mkdirSync(home);
    writeFileSync(join(home, '.netrc'), 'machine 127.0.0.1\nlogin alice\npassword secret\n', { mode: 0o600 });
    const local = join(work, 'cadaver.txt');
    writeFileSync(local, 'cadaver content\n');
    const back = join(work, 'cadaver-back.txt');
    const script = [
      'mkcol cdir',
      `put ${local} cdir/a.txt`,
      'move cdir/a.txt cdir/b.txt',
      'lock cdir/b.txt',
      'discover cdir/b.txt',
      `put ${local} cdir/b.txt`,
      'unlock cdir/b.txt',
      `get cdir/b.txt ${back}`,
      'ls cdir',
      'quit',
      '',
    ].join('\n');
    const out = await run('cadaver', [`${h.url}/files/`], { env: { HOME: home }, input: script });
    expect(out).toMatch(/Creating `cdir': succeeded/);
    expect(out).toMatch(/Moving `\/files\/cdir\/a\.txt' to `\/files\/cdir\/b\.txt':\s+succeeded/);
    expect(out).toMatch(/Locking `cdir\/b\.txt': succeeded/);
    expect(out).toMatch(/Scope: exclusive\s+Type: write/);
    expect(out).toMatch(/Unlocking `cdir\/b\.txt': succeeded/);
    expect(out).not.toMatch(/failed/);
    expect(readFileSync(back, 'utf8')).toBe('cadaver content\n');
    expect(readdirSync(join(h.shareDir, 'cdir'))).toEqual(['b.txt']);
  });

  it('lists a folder holding a name with an &', async () => {
    const home = join(work, 'cadaver-amp-home');
    mkdirSync(home);
    writeFileSync(join(home, '.netrc'), 'machine 127.0.0.1\nlogin alice\npassword secret\n', { mode: 0o600 });
    mkdirSync(join(h.shareDir, 'amp'));
    writeFileSync(join(h.shareDir, 'amp', 'Tom & Jerry.txt'), 'cat and mouse\n');
    const out = await run('cadaver', [`${h.url}/files/`], { env: { HOME: home }, input: 'ls amp\nquit\n' });
    expect(out).toMatch(/^\s*Tom & Jerry\.txt\s+14\s/m);
    expect(out).not.toMatch(/failed|EntityRef/);
  });
});
