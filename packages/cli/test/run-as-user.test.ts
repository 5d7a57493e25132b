/**
 * `hearth run NAME` as root for a service with `user:`: its listeners are bound as root (a port
 * under 1024), then it runs as that user, and what it makes in the data dir is that user's. Needs
 * root (the tests run as root here and in CI).
 */
import type { ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectAndReadLine, spawnTied, waitFor } from '@hearth/testkit';
import { MAIN } from '@hearth/testkit/hearth-up';
import { NOBODY, notOwnedBy } from './owners.js';

const isRoot = process.getuid?.() === 0;

let dir: string;
let data: string;
let child: ChildProcess | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-cli-run-as-'));
  data = join(dir, 'data');
  mkdirSync(data);
  if (isRoot) for (const path of [dir, data]) chownSync(path, NOBODY, NOBODY);
});
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const gone = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
  }
  child = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** A free TCP port under 1024 on 127.0.0.1 (only root can bind it). */
async function freePrivilegedPort(): Promise<number> {
  for (let port = 700 + Math.floor(Math.random() * 200); port < 1024; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port under 1024');
}

/** `Uid:`, `Gid:` and `Groups:` of a process, from /proc. */
function identity(pid: number): { uid: string; gid: string; groups: string } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): string => status.match(new RegExp(`^${name}:\\s*(.*)$`, 'm'))![1]!.trim().replace(/\s+/g, ' ');
  return { uid: field('Uid'), gid: field('Gid'), groups: field('Groups') };
}

describe('hearth run as root, for a service with user:', () => {
  it.runIf(isRoot)("binds its port under 1024 as root, then runs as the user: its files are the user's; SIGHUP reloads, a changed user: is refused", async () => {
    const port = await freePrivilegedPort();
    const config = join(dir, 'hearth.yaml');
    const write = (user: string): void => writeFileSync(config, `services:\n  mail:\n    service: pop3\n    user: ${user}\n    listen: { pop3: { port: ${port} } }\n`);
    write('nobody');
    const proc = spawnTied(process.execPath, [MAIN, 'run', 'mail', '--config', config, '--data', data], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    const lines: Array<Record<string, unknown>> = [];
    let stderr = '';
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    createInterface({ input: proc.stdout! }).on('line', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
    const logged = (msg: string): Record<string, unknown> | undefined => lines.find((l) => l['msg'] === msg);

    const greeting = await waitFor(() => connectAndReadLine(port).catch(() => undefined), { timeout: 15_000, what: `the POP3 greeting on port ${port} (stderr: ${stderr})` });
    expect(greeting).toMatch(/^\+OK /);
    expect(logged('listeners bound; running as user')).toMatchObject({ user: 'nobody', uid: NOBODY, gid: NOBODY });
    expect(identity(proc.pid!)).toEqual({ uid: `${NOBODY} ${NOBODY} ${NOBODY} ${NOBODY}`, gid: `${NOBODY} ${NOBODY} ${NOBODY} ${NOBODY}`, groups: `${NOBODY}` });
    // The store, the accounts and the certificate it made at start are nobody's.
    expect(readdirSync(data).length).toBeGreaterThan(0);
    expect(notOwnedBy(data, NOBODY)).toEqual([]);

    // SIGHUP: the config is read again by the process that now runs as nobody.
    proc.kill('SIGHUP');
    await waitFor(() => logged('settings reloaded') ?? logged('reload refused'), { what: 'the reload' });
    expect(logged('reload refused')).toBeUndefined();
    write('daemon');
    proc.kill('SIGHUP');
    const refused = await waitFor(() => logged('reload refused'), { what: 'the refused reload' });
    expect(refused['error']).toBe('user: of "mail" changed (nobody -> daemon): a new hearth run takes it');

    const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(notOwnedBy(data, NOBODY)).toEqual([]);
  });
});
