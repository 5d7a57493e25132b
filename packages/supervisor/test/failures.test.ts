/** Bad input and hard failures: every one a clear line, a non-zero exit, nothing left behind. */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURE_SERVICE_PATH, makeTempDir, waitFor } from '@hearth/testkit';
import { alive, hearth, startUp, stopAll, waitState } from '@hearth/testkit/hearth-up';

afterEach(stopAll);

async function upOnce(yaml: string): Promise<{ code: number | null; stderr: string; data: string; file: string }> {
  const dir = await makeTempDir('hearth-bad-');
  const file = join(dir.path, 'hearth.yaml');
  const data = join(dir.path, 'data');
  writeFileSync(file, yaml);
  const res = await hearth(['up', '--config', file, '--data', data]);
  const out = { code: res.code, stderr: res.stderr, data, file };
  await dir.remove();
  return out;
}

describe('hearth up refuses bad input', () => {
  it('rejects an unknown key with file, line and a suggestion (exit 78, nothing started)', async () => {
    const r = await upOnce(`services:\n  a:\n    command: [sleep, "1"]\n    restrat: always\n`);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`${r.file}:4:5: services.a.restrat: unknown key "restrat" (did you mean "restart"?)`);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(r.data)).toBe(false);
  });

  it('rejects malformed YAML and bad settings of a Hearth service with their lines', async () => {
    const yaml = await upOnce(`services:\n  a: [\n`);
    expect(yaml.code).toBe(78);
    expect(yaml.stderr).toMatch(/hearth\.yaml:\d+:\d+: YAML: /);
    const settings = await upOnce(`services:\n  f:\n    module: ${FIXTURE_SERVICE_PATH}\n    settings:\n      greting: hi\n`);
    expect(settings.code).toBe(78);
    expect(settings.stderr).toContain(':5:7: services.f.settings.greting: unknown key "greting" (did you mean "greeting"?)');
  });

  it('rejects a dependency cycle, naming its members', async () => {
    const r = await upOnce(`services:
  a: { command: [sleep, "1"], requires: [c] }
  b: { command: [sleep, "1"], requires: [a] }
  c: { command: [sleep, "1"], after: [b] }
  d: { command: [sleep, "1"] }
`);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/dependency cycle between services: (a|b|c) -> (a|b|c) -> (a|b|c) -> \1/);
    expect(r.stderr).not.toContain('d ->');
    expect(existsSync(r.data)).toBe(false);
  });

  it('rejects a missing command and an unknown dependency before starting anything', async () => {
    const r = await upOnce(`services:\n  a: { command: [no-such-program-xyz] }\n  b: { command: [sleep, "1"], requires: [aa] }\n`);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('services.a.command[0]: no-such-program-xyz: command not found');
    expect(r.stderr).toContain('services.b.requires[0]: no service named "aa" (did you mean "a"?)');
  });

  it('refuses a port already in use with exit 78, naming the config line of the listener, with nothing left half-started', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await upOnce(`services:
  early: { command: [sleep, "1000"] }
  f:
    module: ${FIXTURE_SERVICE_PATH}
    listen: { main: { port: ${port} } }
`);
      expect(r.code).toBe(78);
      expect(r.stderr.trim()).toBe(`hearth up: ${r.file}:5:15: services.f.listen.main: 127.0.0.1:${port}: address already in use`);
    } finally {
      server.close();
    }
  });

  it('refuses a data dir it cannot create', async () => {
    const dir = await makeTempDir('hearth-bad-');
    writeFileSync(join(dir.path, 'file'), '');
    const file = join(dir.path, 'hearth.yaml');
    writeFileSync(file, 'services: {}\n');
    const res = await hearth(['up', '--config', file, '--data', join(dir.path, 'file', 'data')]);
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toMatch(/^hearth up: data dir .*: cannot create it \(ENOTDIR\)$/);
    await dir.remove();
  });

  it('refuses a second hearth up on the same data dir, and replaces a stale lock', async () => {
    const up = await startUp(`services:\n  a: { command: [sleep, "1000"] }\n`);
    expect(statSync(join(up.data, 'hearth.sock')).mode & 0o777).toBe(0o600);
    const second = await hearth(['up', '--config', up.configFile, '--data', up.data]);
    expect(second.code).toBe(1);
    expect(second.stderr.trim()).toBe(`hearth up: hearth is already running for data dir ${up.data}`);
    expect((await up.service('a')).state).toBe('running');
    await up.stop();
    // A lock and socket left by a dead supervisor do not block the next one.
    const dir = await makeTempDir('hearth-stale-');
    mkdirSync(join(dir.path, 'data'));
    writeFileSync(join(dir.path, 'data', 'hearth.lock'), '999999\n');
    writeFileSync(join(dir.path, 'data', 'hearth.sock'), '');
    const again = await startUp(`services:\n  a: { command: [sleep, "1000"] }\n`, { dir });
    expect((await waitState(again, 'a', 'running')).pid).toBeGreaterThan(0);
    expect(readFileSync(join(dir.path, 'data', 'hearth.lock'), 'utf8').trim()).toBe(String(again.proc.pid));
  });

  it.runIf(process.getuid?.() === 0)('a user the control socket is not for is told so, not "connect EACCES"', async () => {
    const up = await startUp(`services:\n  a: { command: [sleep, "1000"] }\n`);
    const { spawnSync } = await import('node:child_process');
    const { MAIN } = await import('@hearth/testkit/hearth-up');
    const res = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, MAIN, 'status', '--data', up.data], { encoding: 'utf8' });
    expect(res.status).toBe(1);
    expect(res.stderr).toBe(`hearth status: ${join(up.data, 'hearth.sock')}: permission denied (the control socket is for the user hearth up runs as, and the group of its control.group)\n`);
  });

  it('talking to a supervisor that is not running says so in one line', async () => {
    const dir = await makeTempDir('hearth-none-');
    const res = await hearth(['status', '--data', dir.path]);
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toMatch(/^hearth status: no supervisor is running \(no answer on .*hearth\.sock\)$/);
    await dir.remove();
  });
});

describe('no orphans', () => {
  it('leaves no child behind when the supervisor is killed with SIGKILL', async () => {
    const up = await startUp(`services:
  f:
    module: ${FIXTURE_SERVICE_PATH}
  s:
    command: [sleep, "1000"]
  g:
    command: [sh, -c, 'sleep 1000 & sleep 1000']
`);
    const pids: number[] = [];
    for (const name of ['f', 's', 'g']) pids.push((await waitState(up, name, 'running')).pid!);
    // g's background grandchild too: every process in g's group.
    const group = pids[2]!;
    const members = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((p) => {
      try {
        return Number(readFileSync(`/proc/${p}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[2]) === group;
      } catch {
        return false;
      }
    });
    expect(members.length).toBeGreaterThanOrEqual(2);
    pids.push(...members);
    up.proc.kill('SIGKILL');
    await up.exited;
    await waitFor(() => pids.every((p) => !alive(p)), { timeout: 8000, what: `children ${pids.join(', ')} to be gone` });
  });
});
