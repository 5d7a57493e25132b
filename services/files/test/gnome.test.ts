/**
 * GNOME Files' WebDAV client: GVfs's dav backend (Debian `gvfs-backends`), driven with `gio`, the
 * command line of the same GIO calls Files makes. A private D-Bus session bus for the file lets
 * `gio` start GVfs's daemons as it does on a desktop. Over HTTPS: the self-signed certificate is
 * accepted at GVfs's question (the dialog Files shows), then Basic with alice's password.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProgram, spawnGuarded, type ProgramResult } from '@hearth/testkit';
import { startServer, type Harness } from './helpers.js';

let h: Harness;
let bus: { child: ChildProcess; release: () => Promise<void> } | undefined;
let env: NodeJS.ProcessEnv;
let root: string;
const work = mkdtempSync(join(tmpdir(), 'files-gnome-'));
const photos = join(work, 'photos');

/**
 * `dbus-daemon --session` in a process group of its own, which does not outlive this process
 * (`spawnGuarded`); resolves with its address once it listens.
 */
function startSessionBus(busEnv: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; release: () => Promise<void>; address: string }> {
  return new Promise((resolve, reject) => {
    const { child, release } = spawnGuarded('dbus-daemon', ['--session', '--nofork', '--print-address=1'], { stdio: ['ignore', 'pipe', 'ignore'], env: busEnv });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`dbus-daemon exited (${code}) before printing its address`)));
    createInterface({ input: child.stdout! }).once('line', (address) => resolve({ child, release, address: address.trim() }));
  });
}

beforeAll(async () => {
  mkdirSync(photos);
  writeFileSync(join(photos, 'beach.jpg'), 'jpeg bytes');
  h = await startServer({
    settings: (_dataDir, base) => ({
      ...base,
      shares: { ...base.shares, photos: { path: photos, read: ['alice'], write: ['bob'], refuseAppleFiles: false, quota: 0 } },
    }),
  });
  root = `davs://localhost:${new URL(h.httpsUrl).port}`;
  const runtime = join(work, 'runtime');
  mkdirSync(runtime, { mode: 0o700 });
  // GVfs keeps its metadata under HOME and its sockets under XDG_RUNTIME_DIR, both in the scratch
  // folder; its daemons, which the bus starts, get the same.
  const base = { ...process.env, HOME: work, XDG_RUNTIME_DIR: runtime, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
  const session = await startSessionBus(base);
  bus = session;
  env = { ...base, DBUS_SESSION_BUS_ADDRESS: session.address };
});

afterAll(async () => {
  if (env) await gio('mount', '-u', `${root}/`);
  if (bus?.child.pid !== undefined) {
    try {
      process.kill(-bus.child.pid, 'SIGTERM'); // our own child's group: the bus and the GVfs daemons it started
    } catch {
      // gone already
    }
    await bus.release();
  }
  await h?.close();
  rmSync(work, { recursive: true, force: true });
});

function gio(...args: string[]): Promise<ProgramResult> {
  return runProgram('gio', args, { env, timeoutMs: 30_000 });
}

/** `gio ARGS`, which must exit 0: its stdout. */
async function gioOk(...args: string[]): Promise<string> {
  const r = await gio(...args);
  if (r.code !== 0) throw new Error(`gio ${args.join(' ')}: exit code ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** `gio info` attributes as a map (`standard::size` → `10`). */
async function info(uri: string): Promise<Map<string, string>> {
  const out = await gioOk('info', uri);
  return new Map([...out.matchAll(/^ {2}([a-z-]+::[a-z-]+): (.*)$/gm)].map((m) => [m[1]!, m[2]!]));
}

describe('GNOME Files (GVfs dav backend, through gio)', () => {
  it('refuses a wrong password, then mounts with the certificate accepted and the right one', async () => {
    const refused = await gio('mount', `${root}/`);
    expect(refused.code).not.toBe(0);
    // The question GVfs asks about the certificate names ours.
    const fingerprint = new X509Certificate(h.cert.cert).fingerprint.replaceAll(':', ' ');
    const wrong = await runProgram('gio', ['mount', `${root}/`], { env, input: '1\nalice\nnot-the-password\n', timeoutMs: 30_000 });
    expect(wrong.stdout).toContain(fingerprint);
    expect(wrong.code).not.toBe(0);
    expect(`${wrong.stdout}${wrong.stderr}`).toMatch(/Enter password for “Hearth files”/);

    const mounted = await runProgram('gio', ['mount', `${root}/`], { env, input: '1\nalice\nsecret\n', timeoutMs: 30_000 });
    expect(mounted.code, `${mounted.stdout}\n${mounted.stderr}`).toBe(0);
    expect(await gioOk('mount', '-l')).toContain(`localhost:${new URL(h.httpsUrl).port}`);
  });

  it('lists the shares alice may see, and a share', async () => {
    expect((await gioOk('list', `${root}/`)).split('\n').filter(Boolean).sort()).toEqual(['files', 'home', 'photos']);
    expect(await gioOk('list', '-l', `${root}/photos/`)).toMatch(/^beach\.jpg\t10\t\(regular\)$/m);
  });

  it('copies a file up and back byte-identical, with its size, type and time', async () => {
    const local = join(work, 'up.bin');
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(local, bytes);
    await gioOk('copy', local, `${root}/home/up.bin`);
    expect(readFileSync(join(h.dataDir, 'files', 'home', 'alice', 'up.bin')).equals(bytes)).toBe(true);
    const attrs = await info(`${root}/home/up.bin`);
    expect(attrs.get('standard::size')).toBe(String(bytes.length));
    expect(attrs.get('standard::type')).toBe('1'); // a regular file
    expect(attrs.get('standard::content-type')).toBe('application/octet-stream');
    expect(Number(attrs.get('time::modified'))).toBe(Math.floor(statSync(join(h.dataDir, 'files', 'home', 'alice', 'up.bin')).mtimeMs / 1000));
    const back = join(work, 'back.bin');
    await gioOk('copy', `${root}/home/up.bin`, back);
    expect(readFileSync(back).equals(bytes)).toBe(true);
  });

  it('makes a folder, moves and renames into it, replaces a file, and removes', async () => {
    const home = join(h.dataDir, 'files', 'home', 'alice');
    await gioOk('mkdir', `${root}/home/Documents`);
    writeFileSync(join(work, 'notes.txt'), 'first');
    await gioOk('copy', join(work, 'notes.txt'), `${root}/home/notes.txt`);
    await gioOk('move', `${root}/home/notes.txt`, `${root}/home/Documents/notes.txt`);
    await gioOk('rename', `${root}/home/Documents/notes.txt`, 'renamed.txt');
    expect(await gioOk('list', `${root}/home/Documents/`)).toBe('renamed.txt\n');
    expect(readFileSync(join(home, 'Documents', 'renamed.txt'), 'utf8')).toBe('first');
    // Pasting over an existing file: Files asks first (as `gio copy -i` does), and "Skip" leaves it.
    writeFileSync(join(work, 'notes.txt'), 'second, longer');
    const target = `${root}/home/Documents/renamed.txt`;
    const skipped = await runProgram('gio', ['copy', '-i', join(work, 'notes.txt'), target], { env, input: 'n\n', timeoutMs: 30_000 });
    expect(skipped.stdout).toMatch(/overwrite/i);
    expect(readFileSync(join(home, 'Documents', 'renamed.txt'), 'utf8')).toBe('first');
    const replaced = await runProgram('gio', ['copy', '-i', join(work, 'notes.txt'), target], { env, input: 'y\n', timeoutMs: 30_000 });
    expect(replaced.code, `${replaced.stdout}\n${replaced.stderr}`).toBe(0);
    expect(readFileSync(join(home, 'Documents', 'renamed.txt'), 'utf8')).toBe('second, longer');
    expect(await gioOk('cat', `${root}/home/Documents/renamed.txt`)).toBe('second, longer');
    await gioOk('remove', `${root}/home/Documents/renamed.txt`);
    await gioOk('remove', `${root}/home/Documents`);
    expect((await gioOk('list', `${root}/home/`)).split('\n')).not.toContain('Documents');
  });

  it('reads a share alice may only read, and is refused writing there with nothing left', async () => {
    expect(await gioOk('cat', `${root}/photos/beach.jpg`)).toBe('jpeg bytes');
    writeFileSync(join(work, 'mine.jpg'), 'not allowed');
    const refused = await gio('copy', join(work, 'mine.jpg'), `${root}/photos/mine.jpg`);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('HTTP Client Error: Forbidden');
    const removed = await gio('remove', `${root}/photos/beach.jpg`);
    expect(removed.code).not.toBe(0);
    expect(removed.stderr).toContain('HTTP Client Error: Forbidden');
    expect((await gioOk('list', `${root}/photos/`)).split('\n').filter(Boolean)).toEqual(['beach.jpg']);
  });
});
