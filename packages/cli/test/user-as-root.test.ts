/**
 * `hearth user` run as root on a data dir another user owns (the user the services run as, the
 * config's `user:`): nothing it makes there is root's, so the services can still open and write
 * it. Needs root to give the data dir to another user (the tests run as root here and in CI).
 */
import { spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runProgram, waitFor } from '@hearth/testkit';
import { MAIN } from '@hearth/testkit/hearth-up';
import { NOBODY, notOwnedBy } from './owners.js';

/** The services' user. */
const SERVICE_UID = NOBODY;
const isRoot = process.getuid?.() === 0;

let dir: string;
let data: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-cli-root-'));
  data = join(dir, 'data');
  mkdirSync(data);
  if (isRoot) for (const path of [dir, data]) chownSync(path, SERVICE_UID, SERVICE_UID);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const hearthUser = (args: string[], input = ''): ReturnType<typeof runProgram> => runProgram(process.execPath, [MAIN, 'user', ...args, '--data', data], { input });

describe('hearth user as root', () => {
  it.runIf(isRoot)("acts as the data dir's owner: what add, groups, disable and del make is the services' user's, who can then write it", async () => {
    expect(await hearthUser(['add', 'alice', '--password-stdin'], 'alice-secret-1\n')).toMatchObject({ code: 0, stdout: 'added user alice\n' });
    expect(await hearthUser(['add', 'bob', '--password-stdin'], 'bob-secret-12\n')).toMatchObject({ code: 0 });
    expect(await hearthUser(['groups', 'alice', 'family'])).toMatchObject({ code: 0 });
    expect(await hearthUser(['disable', 'alice', '--reason', 'on leave'])).toMatchObject({ code: 0 });
    expect(await hearthUser(['del', 'bob'])).toMatchObject({ code: 0, stdout: 'deleted user bob\n' });
    expect(existsSync(join(data, 'accounts', 'accounts.sqlite'))).toBe(true);
    expect(notOwnedBy(data, SERVICE_UID)).toEqual([]);
    // What a service running as that user does: write the accounts and the mail store.
    const asService = await runProgram('setpriv', [`--reuid=${SERVICE_UID}`, `--regid=${SERVICE_UID}`, '--clear-groups', process.execPath, MAIN, 'user', 'add', 'carol', '--password-stdin', '--data', data], { input: 'carol-secret-1\n' });
    expect(asService).toMatchObject({ code: 0, stderr: '' });
  });

  it.runIf(isRoot)("makes a database's -wal and -shm the services' user's while it has them open", async () => {
    expect(await hearthUser(['add', 'alice', '--password-stdin'], 'alice-secret-1\n')).toMatchObject({ code: 0 });
    // passwd opens the accounts, then waits for the password line: the -wal and -shm exist meanwhile.
    const child = spawn(process.execPath, [MAIN, 'user', 'passwd', 'alice', '--password-stdin', '--data', data], { stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const wal = join(data, 'accounts', 'accounts.sqlite-wal');
      await waitFor(() => existsSync(wal) && existsSync(`${wal.slice(0, -4)}-shm`), { what: 'the accounts database open in WAL mode' });
      expect(notOwnedBy(data, SERVICE_UID)).toEqual([]);
      child.stdin.end('alice-secret-2\n');
      expect(await exited).toBe(0);
    } finally {
      child.kill();
    }
  });
});
