/** The `hearth` command as a user runs it: a real process for each call. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURE_SERVICE_PATH, connectAndReadLine, freePort, makeTempDir, spawnTied, waitFor } from '@hearth/testkit';
import type { TempDir } from '@hearth/testkit';
import { COMMANDS, VERB_LOADERS } from '@hearth/cli';
import { loadTlsMaterial } from '@hearth/tls';
import { hearth } from '@hearth/testkit/hearth-up';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * Starts `hearth ARGS` left running (killed after the test, and with this process however it
 * ends: `spawnTied`); `exited` resolves with its exit code. `env` is added to this process's.
 */
function foreground(args: readonly string[], env: Record<string, string> = {}): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawnTied(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  return { child, exited };
}

async function tempDir(): Promise<TempDir> {
  const dir = await makeTempDir('hearth-cli-');
  cleanups.push(() => dir.remove());
  return dir;
}

describe('hearth --help', () => {
  it('lists every verb', async () => {
    const res = await hearth(['--help']);
    expect(res.code).toBe(0);
    for (const c of COMMANDS) expect(res.stdout).toMatch(new RegExp(`^  ${c.name}\\s+${c.summary.slice(0, 20).replace(/[()]/g, '.')}`, 'm'));
  });

  it('loads each verb on its own: the lazy table has every verb, mapped to itself', async () => {
    expect(Object.keys(VERB_LOADERS).sort()).toEqual(COMMANDS.map((c) => c.name).sort());
    for (const c of COMMANDS) expect(await VERB_LOADERS[c.name]!()).toBe(c);
  });

  it.each(COMMANDS.map((c) => c.name))('hearth %s --help prints its usage', async (verb) => {
    const res = await hearth([verb, '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`^Usage: hearth ${verb}`));
    expect(res.stdout).toContain('--data DIR');
  });

  it('answers no verb, an unknown verb and a bad option with one line and exit 64', async () => {
    expect((await hearth([])).code).toBe(64);
    const unknown = await hearth(['fly']);
    expect(unknown).toMatchObject({ code: 64, stderr: 'hearth: unknown verb "fly" (try "hearth --help")\n' });
    const bad = await hearth(['status', '--bogus']);
    expect(bad.code).toBe(64);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^hearth status: .*--bogus/);
    const missing = await hearth(['stop']);
    expect(missing).toMatchObject({ code: 64, stderr: 'hearth stop: expected exactly one service NAME\n' });
    const lines = await hearth(['logs', '-n', 'x']);
    expect(lines).toMatchObject({ code: 64, stderr: 'hearth logs: --lines must be a count (0 or more), not "x"\n' });
    expect((await hearth(['logs', 'a', 'b'])).code).toBe(64);
  });

  it('takes --config and --log-level only where a config is read: a reload cannot name another file', async () => {
    for (const verb of ['reload', 'status', 'down', 'logs']) {
      const res = await hearth([verb, '--config', '/tmp/other.yaml']);
      expect(res.code).toBe(64);
      expect(res.stderr).toBe(`hearth ${verb}: unknown option --config: the supervisor runs the config file hearth up --config named (a reload reads it again)\n`);
    }
    expect((await hearth(['reload', '--help'])).stdout).not.toContain('--config');
    expect((await hearth(['up', '--help'])).stdout).toContain('--config FILE');
    const level = await hearth(['up', '--log-level', 'loud']);
    expect(level).toMatchObject({ code: 64, stderr: 'hearth up: --log-level: unknown level "loud" (one of trace, debug, info, warn, error, fatal, silent)\n' });
  });
});

describe('verbs against a running supervisor', () => {
  it('start, stop, restart, status and down; $HEARTH_DATA finds the supervisor', async () => {
    const dir = await tempDir();
    const data = join(dir.path, 'data');
    const config = join(dir.path, 'hearth.yaml');
    writeFileSync(config, `services:\n  fix:\n    module: ${FIXTURE_SERVICE_PATH}\n    listen: { main: { port: 0 } }\n  nap:\n    command: [sleep, "1000"]\n`);
    const { exited } = foreground(['up', '--config', config, '--log-level', 'warn'], { HEARTH_DATA: data });
    const env = { HEARTH_DATA: data };
    const status = async () => JSON.parse((await hearth(['status', '--json'], { env })).stdout) as { name: string; state: string; pid: number; restarts: number }[];
    await waitFor(async () => (await status().catch(() => [])).every((s) => s.state === 'running') && (await status()).length === 2, { timeout: 10_000, what: 'both running' });

    const stopped = await hearth(['stop', 'nap'], { env });
    expect(stopped).toMatchObject({ code: 0, stdout: 'nap: stopped\n' });
    const started = await hearth(['start', 'nap'], { env });
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/^nap: running \(pid \d+\)\n$/);

    const before = (await status()).find((s) => s.name === 'fix')!;
    const restarted = await hearth(['restart', 'fix'], { env });
    expect(restarted.code).toBe(0);
    const after = (await status()).find((s) => s.name === 'fix')!;
    expect(after.pid).not.toBe(before.pid);
    expect(after.restarts).toBe(before.restarts + 1);

    const unknown = await hearth(['start', 'nope'], { env });
    expect(unknown).toMatchObject({ code: 1, stderr: 'hearth start: no service named "nope"\n' });

    const down = await hearth(['down'], { env });
    expect(down).toMatchObject({ code: 0, stdout: 'hearth: stopped\n' });
    expect(await exited).toBe(0);
  });
});

describe('hearth status --watch', () => {
  it('outlives the supervisor: says once that none answers, and shows it again once one is back', async () => {
    const dir = await tempDir();
    const data = join(dir.path, 'data');
    const config = join(dir.path, 'hearth.yaml');
    writeFileSync(config, 'services:\n  nap:\n    command: [sleep, "1000"]\n');
    const watch = spawn(process.execPath, [MAIN, 'status', '--watch', '--interval', '0.2', '--count', '200', '--data', data], { stdio: ['ignore', 'pipe', 'pipe'] });
    const watched = new Promise<number | null>((resolve) => watch.on('exit', (code) => resolve(code)));
    cleanups.push(async () => {
      watch.kill('SIGKILL');
      await watched;
    });
    let out = '';
    let err = '';
    watch.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    watch.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    await waitFor(() => err.includes('no supervisor is running'), { timeout: 10_000, what: 'the watch to say none answers' });
    const { exited } = foreground(['up', '--config', config, '--data', data]);
    await waitFor(() => out.includes('"name":"nap"'), { timeout: 10_000, what: 'a status line once the supervisor is up' });
    expect(err).toContain('hearth status: the supervisor answers again\n');
    // Piped, the outage is one line, not one per refresh.
    expect(err.split('\n').filter((l) => l.includes('no supervisor is running'))).toHaveLength(1);
    expect((await hearth(['down', '--data', data])).code).toBe(0);
    expect(await exited).toBe(0);
    await waitFor(() => err.split('\n').filter((l) => l.includes('no supervisor is running')).length === 2, { timeout: 10_000, what: 'the watch to notice the supervisor went away' });
    expect(watch.exitCode).toBeNull();
  });
});

describe('hearth check', () => {
  it('reads a config as hearth up would, starting nothing: every problem and 78, or the services and 0', async () => {
    const dir = await tempDir();
    const config = join(dir.path, 'hearth.yaml');
    writeFileSync(config, `services:\n  web:\n    command: [sleep, "1000"]\n    requires: [files]\n  files:\n    service: files\n    listen: { https: { port: 8443, address: "::1" } }\n`);
    expect(await hearth(['check', '--config', config, '--data', join(dir.path, 'data')])).toEqual({
      code: 0,
      stdout: `${config}: valid, 2 services\ndata dir: ${join(dir.path, 'data')}\n  web    command sleep 1000; requires files\n  files  service files; https [::1]:8443 (tls)\n`,
      stderr: '',
    });
    // Nothing was started: no data dir, no control socket.
    expect(existsSync(join(dir.path, 'data'))).toBe(false);
    writeFileSync(config, `services:\n  web:\n    command: [no-such-program-xyz]\n    requires: [ghost]\n  snmp:\n    service: snmp\n    listen: { snmp: { port: 161, protocol: tcp } }\n`);
    expect(await hearth(['check', '--config', config])).toEqual({
      code: 78,
      stdout: '',
      stderr: [
        `hearth check: ${config}:3:15: services.web.command[0]: no-such-program-xyz: command not found`,
        `${config}:4:16: services.web.requires[0]: no service named "ghost"`,
        `${config}:7:44: services.snmp.listen.snmp.protocol: snmp serves udp listeners only (this one is tcp)`,
        '',
      ].join('\n'),
    });
    // Two listeners on one address and port: hearth up would bind both, and the second service
    // would fail its listen at every start; check says so as hearth up does, before anything.
    writeFileSync(config, `services:\n  files:\n    service: files\n    listen: { https: { port: 8443 } }\n  admin:\n    service: admin\n    listen: { https: { port: 8443 } }\n`);
    expect(await hearth(['check', '--config', config])).toEqual({
      code: 78,
      stdout: '',
      stderr: `hearth check: ${config}:7:22: services.admin.listen.https: 127.0.0.1:8443 is also the address of services.files.listen.https\n`,
    });
    expect(await hearth(['check', '--log-level', 'info'])).toMatchObject({ code: 64, stderr: 'hearth check: unknown option --log-level\n' });
  });

  it('reads a configured tls pair as the services read it at their start: a missing file or a key of another certificate is 78', async () => {
    const dir = await tempDir();
    const config = join(dir.path, 'hearth.yaml');
    const one = await loadTlsMaterial({ dataDir: join(dir.path, 'one') });
    const other = await loadTlsMaterial({ dataDir: join(dir.path, 'other') });
    const withPair = (cert: string, key: string) =>
      writeFileSync(config, `tls: { cert: ${cert}, key: ${key} }\nservices:\n  files:\n    service: files\n    listen: { https: { port: 8443 } }\n`);
    withPair(one.certFile, one.keyFile);
    expect(await hearth(['check', '--config', config])).toMatchObject({ code: 0, stderr: '' });
    // The files service of hearth up would exit 78 at each of these; check said valid.
    withPair(one.certFile, other.keyFile);
    expect(await hearth(['check', '--config', config])).toEqual({
      code: 78,
      stdout: '',
      stderr: `hearth check: ${config}: tls: the key in ${other.keyFile} does not belong to the certificate in ${one.certFile}\n`,
    });
    withPair(join(dir.path, 'no-such.pem'), one.keyFile);
    expect(await hearth(['check', '--config', config])).toEqual({
      code: 78,
      stdout: '',
      stderr: `hearth check: ${config}: tls: the certificate file ${join(dir.path, 'no-such.pem')} does not exist\n`,
    });
  });
});

describe('hearth run', () => {
  it('runs one Hearth service in the foreground on its own listener, and stops on SIGTERM', async () => {
    const dir = await tempDir();
    const port = await freePort();
    const config = join(dir.path, 'hearth.yaml');
    writeFileSync(config, `services:\n  fix:\n    module: ${FIXTURE_SERVICE_PATH}\n    listen: { main: { port: ${port} } }\n    settings: { greeting: solo }\n  other:\n    command: [sleep, "1"]\n`);
    const { child, exited } = foreground(['run', 'fix', '--config', config, '--data', join(dir.path, 'data')]);
    const line = await waitFor(() => connectAndReadLine(port).catch(() => undefined), { timeout: 10_000, what: 'the service' });
    expect(line).toBe(`solo ${child.pid}`);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    const cmd = await hearth(['run', 'other', '--config', config]);
    expect(cmd).toMatchObject({ code: 1, stderr: 'hearth run: other is a command, not a Hearth service: run it directly\n' });
    const none = await hearth(['run', 'ghost', '--config', config]);
    expect(none.stderr).toBe('hearth run: no service named "ghost" (configured: fix, other)\n');
    // A config error is every problem, exit 78, as from hearth up.
    writeFileSync(config, `services:\n  fix:\n    module: ${FIXTURE_SERVICE_PATH}\n    restrat: always\n  other:\n    command: [no-such-program-xyz]\n`);
    const bad = await hearth(['run', 'fix', '--config', config]);
    expect(bad.code).toBe(78);
    expect(bad.stderr).toBe(
      `hearth run: ${config}:4:5: services.fix.restrat: unknown key "restrat" (did you mean "restart"?)\n${config}:6:15: services.other.command[0]: no-such-program-xyz: command not found\n`,
    );
  });
});

describe('Hearth\'s service kinds', () => {
  it('hearth run NAME runs a service: kind from the suite\'s table', async () => {
    const dir = await tempDir();
    const port = await freePort();
    const config = join(dir.path, 'hearth.yaml');
    writeFileSync(config, `services:\n  mail:\n    service: pop3\n    listen: { pop3: { port: ${port} } }\n`);
    const { child, exited } = foreground(['run', 'mail', '--config', config, '--data', join(dir.path, 'data')]);
    const greeting = await waitFor(() => connectAndReadLine(port).catch(() => undefined), { timeout: 10_000, what: 'the POP3 greeting' });
    expect(greeting).toMatch(/^\+OK /);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('hearth up names the suite\'s kinds in a config error, with its line and a did-you-mean (exit 78)', async () => {
    const dir = await tempDir();
    const config = join(dir.path, 'hearth.yaml');
    writeFileSync(config, `services:\n  mail:\n    service: pop4\n`);
    const res = await hearth(['up', '--config', config, '--data', join(dir.path, 'data')]);
    expect(res).toMatchObject({
      code: 78,
      stderr: `hearth up: ${config}:3:14: services.mail.service: unknown service kind "pop4" (did you mean "pop3"?); known: biff, smtp, pop3, snmp, files, admin\n`,
    });
  });
});
