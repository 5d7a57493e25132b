/** `hearth up` end to end with real processes: the testkit fixture as a `module:` service, plain commands. */
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectAndReadLine, connectionRefused, makeTempDir, waitFor } from '@hearth/testkit';
import { alive, fixtureEntry, logged, startUp, stopAll, waitState } from '@hearth/testkit/hearth-up';

afterEach(stopAll);

/** Resident bytes of one process, from /proc. */
function rssOf(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

describe('hearth up', () => {
  it('starts in dependency order, each after its dependencies are ready, and stops in reverse', async () => {
    const up = await startUp(`services:
  web:
    command: [sleep, "1000"]
    requires: [api]
    ready: { delay: 50ms }
${fixtureEntry('api', '    requires: [db]\n    settings: { readyDelay: 200ms }\n')}
  db:
    command: [sh, -c, "sleep 1000"]
    ready: { delay: 300ms }
  extra:
    command: [sleep, "1000"]
    after: [web, missing-is-fine]
`);
    await waitState(up, 'extra', 'running');
    // The supervisor's log output is asynchronous: wait for the line, not only the state.
    await waitFor(() => logged(up, 'service ready', 'extra').length > 0, { what: 'the log line' });
    const started = logged(up, 'service started').map((l) => l['service']);
    expect(started).toEqual(['db', 'api', 'web', 'extra']);
    const at = (msg: string, svc: string) => logged(up, msg, svc)[0]?.['time'] as number;
    expect(at('service started', 'api')).toBeGreaterThanOrEqual(at('service ready', 'db'));
    expect(at('service started', 'web')).toBeGreaterThanOrEqual(at('service ready', 'api'));
    expect(at('service ready', 'api') - at('service started', 'api')).toBeGreaterThanOrEqual(200);
    expect(await up.stop()).toBe(0);
    expect(logged(up, 'service stopped').map((l) => l['service'])).toEqual(['extra', 'web', 'api', 'db']);
  });

  it('hands a Hearth service its listener and serves on it; status --json has the documented shape', async () => {
    const up = await startUp(`services:\n${fixtureEntry('fix', '    settings: { greeting: hi }\n')}`);
    const s = await waitState(up, 'fix', 'running');
    const port = s.listeners[0]!.port;
    expect(port).toBeGreaterThan(0);
    expect(await connectAndReadLine(port)).toBe(`hi ${s.pid}`);

    const res = await up.cli('status', '--json');
    expect(res.code).toBe(0);
    const rows = JSON.parse(res.stdout) as Record<string, unknown>[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: 'fix', state: 'running', pid: s.pid, restarts: 0, lastExit: null });
    expect(typeof rows[0]!['uptimeMs']).toBe('number');
    expect(rows[0]).toHaveProperty('standbyPid');
    // A Node process: tens of MiB resident (its own RSS, read here, is part of the group's).
    expect(rows[0]!['rssBytes']).toBeGreaterThanOrEqual(rssOf(s.pid!) / 2);
    expect(rows[0]!['rssBytes']).toBeLessThan(1024 ** 3);
    expect(rows[0]).toHaveProperty('standbyRssBytes');

    const table = await up.cli('status');
    expect(table.stdout).toMatch(/^SERVICE\s+STATE\s+PID\s+STANDBY\s+MEMORY\s+UPTIME\s+RESTARTS\s+LAST EXIT/);
    expect(table.stdout).toMatch(new RegExp(`fix\\s+running\\s+${s.pid}\\s+\\S+\\s+\\d+(\\.\\d)?M`));
  });

  it('reports the memory of a service\'s whole process group, not only of its first process', async () => {
    const up = await startUp(`services:
  family:
    command: [sh, -c, 'node -e "setTimeout(() => {}, 1e6); console.log(\\"up\\")" & wait']
`);
    const s = await waitState(up, 'family', 'running');
    await waitFor(() => up.lines.some((l) => l['msg'] === 'up'), { what: 'the node grandchild' });
    const row = (await up.request({ verb: 'status' }) as Array<Record<string, unknown>>)[0]!;
    const shell = rssOf(s.pid!);
    expect(shell).toBeLessThan(16 * 1024 ** 2); // sh alone
    expect(row['rssBytes']).toBeGreaterThan(shell + 16 * 1024 ** 2); // sh and the node it started
  });

  it('restarts a crashed service at once, then with backoff, and it serves again', async () => {
    const up = await startUp(`services:\n${fixtureEntry('fix', '    settings: { crashAfter: 300ms }\n    backoff: { initial: 400ms }\n')}`);
    const first = await waitState(up, 'fix', 'running');
    const second = await waitFor(async () => {
      const s = await up.service('fix');
      return s.restarts >= 2 ? s : undefined;
    }, { timeout: 10_000, what: 'two restarts' });
    expect(second.lastExit).toMatchObject({ code: 1 });
    await waitFor(() => logged(up, 'service exited: restarting', 'fix').length >= 2, { what: 'the log lines' });
    const delays = logged(up, 'service exited: restarting', 'fix').map((l) => l['delayMs']);
    expect(delays.slice(0, 2)).toEqual([0, 400]);
    const now = await waitState(up, 'fix', 'running');
    expect(now.pid).not.toBe(first.pid);
    expect(await connectAndReadLine(now.listeners[0]!.port)).toMatch(/^hello \d+$/);
  });

  it('hearth start NAME starts what NAME requires first; a service held back by a failed one says why', async () => {
    const up = await startUp(`services:
  db:
    command: [sleep, "1000"]
  api:
    command: [sleep, "1000"]
    requires: [db]
  broken:
    command: [sh, -c, "sleep 0.2; exit 78"]
    ready: { delay: 2s }
  web:
    command: [sleep, "1000"]
    requires: [broken]
  top:
    command: [sleep, "1000"]
    requires: [web]
`);
    await waitState(up, 'broken', 'failed');
    const web = await waitFor(async () => {
      const s = await up.service('web');
      return s.reason !== null ? s : undefined;
    }, { what: 'web held back' });
    expect(web).toMatchObject({ state: 'stopped', pid: null, reason: 'not started: it requires broken, which is failed' });
    // Held back in turn: it waited for ever, and hearth up's start never settled.
    await waitFor(async () => (await up.service('top')).reason !== null, { what: 'top held back' });
    expect(await up.service('top')).toMatchObject({ state: 'stopped', pid: null, reason: 'not started: it requires web, which is stopped' });
    await waitState(up, 'api', 'running');
    expect((await up.cli('stop', 'api')).code).toBe(0);
    expect((await up.cli('stop', 'db')).code).toBe(0);
    // As systemd's Requires= and s6-rc do: the dependency comes up first, then the service.
    // One line for each requirement started first, as hearth stop prints what it stops first.
    const started = await up.cli('start', 'api');
    expect(started.stdout).toMatch(/^db: running \(pid \d+\) \(required by api\)\napi: running \(pid \d+\)\n$/);
    expect(await up.service('db')).toMatchObject({ state: 'running' });
    const refused = await up.cli('start', 'web');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('hearth start: web requires broken, which is failed (configuration error (exit 78): not restarted): web was not started\n');
    expect((await up.service('web')).state).toBe('stopped');
  });

  it('hearth stop NAME first stops what requires it, each after its dependents; hearth start NAME names what stays stopped', async () => {
    const up = await startUp(`services:
  db:
    command: [sleep, "1000"]
${fixtureEntry('api', '    requires: [db]\n')}
  web:
    command: [sleep, "1000"]
    requires: [api]
  cron:
    command: [sleep, "1000"]
    after: [db]
`);
    for (const name of ['db', 'api', 'web']) await waitState(up, name, 'running');
    const cron = await waitState(up, 'cron', 'running');
    const port = (await up.service('api')).listeners[0]!.port;
    // As systemd's Requires= and s6-rc: what requires db, directly or not, stops first.
    const stopped = await up.cli('stop', 'db');
    expect(stopped).toMatchObject({ code: 0, stdout: 'web: stopped (requires api)\napi: stopped (requires db)\ndb: stopped\n', stderr: '' });
    await waitFor(() => logged(up, 'service stopped', 'db').length > 0, { what: 'the log line' });
    expect(logged(up, 'service stopped').map((l) => l['service'])).toEqual(['web', 'api', 'db']);
    expect(await up.service('web')).toMatchObject({ state: 'stopped', pid: null, reason: 'stopped with db: it requires api, which requires db' });
    // Its sockets are closed as at its own stop: clients are refused, not left in the backlog.
    expect(await up.service('api')).toMatchObject({ state: 'stopped', reason: 'stopped with db: it requires db', listeners: [] });
    expect(await connectionRefused(port)).toBe(true);
    expect((await up.service('db')).reason).toBeNull();
    // after: alone orders, it does not require.
    expect(await up.service('cron')).toMatchObject({ state: 'running', pid: cron.pid });
    const table = (await up.cli('status')).stdout;
    expect(table).toMatch(/\n\s+stopped with db: it requires api, which requires db\n/);

    // As systemd: a start does not start what requires it; the CLI names what stays stopped.
    const started = await up.cli('start', 'db');
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/^db: running \(pid \d+\)\nstill stopped, requires db: api, web\n$/);
    expect((await up.service('api')).state).toBe('stopped');
    const restarted = await up.cli('restart', 'api');
    expect(restarted.code).toBe(0);
    expect(restarted.stdout).toMatch(/^api: running \(pid \d+\)\nstill stopped, requires api: web\n$/);
    const web = await up.cli('start', 'web');
    expect(web.stdout).toMatch(/^web: running \(pid \d+\)\n$/);
    expect(await up.service('web')).toMatchObject({ state: 'running', reason: null });
    expect(await up.service('api')).toMatchObject({ state: 'running', reason: null });
    expect((await up.cli('start', 'db')).stdout).toMatch(/^db: running \(pid \d+\)\n$/);
  });

  it('hearth restart NAME leaves what requires it running, overlapped or stop-then-start', async () => {
    const up = await startUp(`services:
${fixtureEntry('api')}
  db:
    command: [sleep, "1000"]
  web:
    command: [sleep, "1000"]
    requires: [api, db]
`);
    const web = await waitState(up, 'web', 'running');
    const api = await waitState(up, 'api', 'running');
    const db = await waitState(up, 'db', 'running');
    expect((await up.cli('restart', 'api')).code).toBe(0);
    expect((await up.cli('restart', 'db')).code).toBe(0);
    expect(await up.service('api')).toMatchObject({ state: 'running', restarts: 1 });
    expect((await up.service('api')).pid).not.toBe(api.pid);
    expect((await up.service('db')).pid).not.toBe(db.pid);
    expect(await up.service('web')).toMatchObject({ state: 'running', pid: web.pid, restarts: 0 });
  });

  it('a requirement that fails leaves what requires it running (Requires=, not BindsTo=); hearth stop of it stops them', async () => {
    const up = await startUp(`services:
  flaky:
    command: [sh, -c, "sleep 0.3; exit 2"]
    backoff: { initial: 10ms }
    crashLoop: { failures: 3, window: 30s }
  user:
    command: [sleep, "1000"]
    requires: [flaky]
`);
    const user = await waitState(up, 'user', 'running');
    const flaky = await waitState(up, 'flaky', 'failed');
    expect(await up.service('user')).toMatchObject({ state: 'running', pid: user.pid, restarts: 0 });
    const stopped = await up.cli('stop', 'flaky');
    expect(stopped).toMatchObject({ code: 0, stdout: `user: stopped (requires flaky)\nflaky: failed: ${flaky.reason}\n` });
    expect(await up.service('user')).toMatchObject({ state: 'stopped', reason: 'stopped with flaky: it requires flaky' });
  });

  it('marks a crash loop failed and stops retrying; exit 78 is failed at once', async () => {
    const up = await startUp(`services:
  loop:
    command: [sh, -c, "exit 2"]
    backoff: { initial: 10ms }
    crashLoop: { failures: 4, window: 30s }
${fixtureEntry('bad', '    settings: { configError: true }\n')}`);
    const loop = await waitState(up, 'loop', 'failed');
    expect(loop.restarts).toBe(3);
    expect(loop.reason).toMatch(/crash loop/);
    const bad = await waitState(up, 'bad', 'failed');
    expect(bad.restarts).toBe(0);
    expect(bad.lastExit?.code).toBe(78);
    // A time window, not an order: well past the 10 ms backoff, a failed service is not restarted.
    await new Promise((r) => setTimeout(r, 300));
    expect((await up.service('loop')).restarts).toBe(3);
    expect(loop.reason).toBe('crash loop: 4 failures within 30s (last: exit code 2): not restarted');
    // The service's own log says what became of it and why, not only that its state changed.
    const log = (await up.cli('logs', 'loop', '--json')).stdout.trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(log.filter((l) => l.msg.startsWith('state backoff'))[0]).toEqual(expect.objectContaining({ level: 40, msg: 'state backoff (exit code 2)' }));
    expect(log.at(-1)).toEqual(expect.objectContaining({ level: 50, msg: `state failed (${loop.reason})` }));
    // Stopping a failed service succeeds (nothing of it runs); it stays failed, its reason kept.
    const stopped = await up.cli('stop', 'loop');
    expect(stopped).toMatchObject({ code: 0, stdout: `loop: failed: ${loop.reason}\n` });
    // A manual start clears the failed state and tries again.
    const res = await up.cli('start', 'loop');
    expect(res.stdout).toMatch(/^loop: running/);
    await waitFor(async () => (await up.service('loop')).restarts > 3, { timeout: 5000, what: 'restarts after a manual start' });
  });

  it('never disturbs a sibling when a service crashes', async () => {
    const up = await startUp(`services:
${fixtureEntry('crashy', '    settings: { crashAfter: 100ms }\n    backoff: { initial: 50ms }\n')}
  steady:
    command: [sleep, "1000"]
${fixtureEntry('calm')}`);
    const steady = await waitState(up, 'steady', 'running');
    const calm = await waitState(up, 'calm', 'running');
    await waitFor(async () => (await up.service('crashy')).restarts >= 3, { timeout: 10_000, what: 'crashes' });
    expect(await up.service('steady')).toMatchObject({ state: 'running', pid: steady.pid, restarts: 0 });
    expect(await up.service('calm')).toMatchObject({ state: 'running', pid: calm.pid, restarts: 0 });
    expect(await connectAndReadLine(calm.listeners[0]!.port)).toBe(`hello ${calm.pid}`);
  });

  it('drains a Hearth service on stop: an open session still gets its reply', async () => {
    const up = await startUp(`services:\n${fixtureEntry('fix', '    settings: { replyDelay: 700ms }\n    stopTimeout: 5s\n')}`);
    const s = await waitState(up, 'fix', 'running');
    const reply = connectAndReadLine(s.listeners[0]!.port);
    await new Promise((r) => setTimeout(r, 100));
    const res = await up.cli('stop', 'fix');
    expect(res.stdout).toMatch(/^fix: stopped/);
    expect(await reply).toBe(`hello ${s.pid}`);
    expect((await up.service('fix')).lastExit).toMatchObject({ code: 0, signal: null });
    expect(await up.stop()).toBe(0);
  });

  it('kills the group of a command that ignores SIGTERM at the deadline, says so; up then exits non-zero', async () => {
    // A command counts as running once spawned: the marker says the shell has set its trap (a
    // SIGTERM before that would simply end it, and the stop would need no kill).
    const dir = await makeTempDir('hearth-sup-');
    const marker = join(dir.path, 'trapped');
    const up = await startUp(
      `services:
  stubborn:
    command: [sh, -c, 'trap "" TERM; : > "$0"; sleep 1000 & wait; sleep 1000', ${JSON.stringify(marker)}]
    stopTimeout: 300ms
`,
      { dir },
    );
    const s = await waitState(up, 'stubborn', 'running');
    await waitFor(() => existsSync(marker), { what: 'the shell to trap SIGTERM' });
    const t0 = Date.now();
    // hearth stop says it had to kill it.
    expect(await up.cli('stop', 'stubborn')).toMatchObject({ code: 0, stdout: 'stubborn: stopped (killed: it did not exit within its stopTimeout)\n' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(await up.stop()).toBe(1);
    expect(alive(s.pid!)).toBe(false);
    expect(logged(up, 'service stopped', 'stubborn')[0]).toMatchObject({ killed: true, signal: 'SIGKILL' });
  });

  it('warns when a TCP ready check passes before the program is even started (another program holds the port)', async () => {
    const { createServer } = await import('node:net');
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    try {
      const port = (squatter.address() as { port: number }).port;
      const up = await startUp(`services:\n  web:\n    command: [sleep, "1000"]\n    ready: { tcp: "127.0.0.1:${port}" }\n`);
      await waitState(up, 'web', 'running');
      const warning = await waitFor(() => logged(up, 'the ready check passes before the service is started: another program holds its port, and the check cannot tell it from this service', 'web')[0], { what: 'the warning' });
      expect(warning).toMatchObject({ level: 40, ready: { tcp: { host: '127.0.0.1', port } } });
    } finally {
      squatter.close();
    }
  });

  it('a second SIGTERM during the shutdown says what it waits for', async () => {
    const dir = await makeTempDir('hearth-sup-');
    const marker = join(dir.path, 'trapped');
    const up = await startUp(`services:\n  stubborn:\n    command: [sh, -c, 'trap "" TERM; : > "$0"; sleep 1000 & wait; sleep 1000', ${JSON.stringify(marker)}]\n    stopTimeout: 2s\n`, { dir });
    await waitState(up, 'stubborn', 'running');
    await waitFor(() => existsSync(marker), { what: 'the shell to trap SIGTERM' });
    up.proc.kill('SIGTERM');
    await waitFor(() => logged(up, 'stopping service', 'stubborn').length > 0, { what: 'the stop' });
    up.proc.kill('SIGTERM');
    const line = await waitFor(() => logged(up, 'already shutting down: waiting for the services to stop')[0], { what: 'the answer to the second SIGTERM' });
    expect(line).toMatchObject({ signal: 'SIGTERM', stopping: ['stubborn'] });
    expect(await up.stop()).toBe(1);
  });

  it('supervises a non-Node program with a TCP ready check', async () => {
    const { freePort } = await import('@hearth/testkit');
    const port = await freePort();
    const up = await startUp(`services:
  web:
    command: [python3, -m, http.server, "${port}", --bind, 127.0.0.1]
    ready: { tcp: "127.0.0.1:${port}" }
    env: { PYTHONUNBUFFERED: 1 }
`);
    const s = await waitState(up, 'web', 'running');
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1', () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    expect(ok).toBe(true);
    const logs = await up.cli('logs', 'web', '--json');
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain('"svc":"web"');
    expect(await up.stop()).toBe(0);
    expect(alive(s.pid!)).toBe(false);
  });

  it.runIf(process.getuid?.() === 0)('runs a command as its user: with its limits:, HOME, USER and LOGNAME', async () => {
    const up = await startUp(`services:
  low:
    command: [sh, -c, 'echo "ids $(id -u) $(ulimit -n) $HOME $USER $LOGNAME"; exec sleep 1000']
    user: nobody
    limits: { nofile: 99 }
`);
    await waitState(up, 'low', 'running');
    const { resolveUser } = await import('@hearth/process');
    const line = await waitFor(() => up.lines.find((l) => typeof l['msg'] === 'string' && (l['msg'] as string).startsWith('ids ')), { timeout: 5000, what: 'the ids line' });
    const nobody = resolveUser('nobody');
    // Not the supervisor's (root's) HOME: as login(1) and systemd's User= set them.
    expect(line['msg']).toBe(`ids ${nobody.uid} 99 ${nobody.home} nobody nobody`);
  });

  it('kills what a command left in its group when it exits, and says so in both logs', async () => {
    const up = await startUp(`services:
  forks:
    command: [sh, -c, 'sleep 1000 & echo "left $!"']
    restart: on-failure
`);
    const line = await waitFor(() => up.lines.find((l) => typeof l['msg'] === 'string' && (l['msg'] as string).startsWith('left ')), { timeout: 5000, what: 'the background pid' });
    const background = Number((line['msg'] as string).slice('left '.length));
    const s = await waitState(up, 'forks', 'stopped');
    expect(s.lastExit).toMatchObject({ code: 0, signal: null });
    await waitFor(() => !alive(background), { timeout: 5000, what: 'the background sleep to be killed' });
    await waitFor(() => logged(up, 'processes the service left running in its group were killed (a command must stay in the foreground)', 'forks').length === 1, { what: 'the warning' });
    const log = (await up.cli('logs', 'forks', '--json')).stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
    expect(log.at(-1)?.msg).toBe('state stopped (exit code 0, the processes it left in its group killed; restart: on-failure)');
  });
});
