/** `hearth start` sent while `hearth stop` of a service it requires is under way, with real processes through the real CLI. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, waitFor } from '@hearth/testkit';
import { logged, startUp, stopAll, waitState } from '@hearth/testkit/hearth-up';

afterEach(stopAll);

describe('hearth start during a stop', () => {
  it('waits for the stop of a service it requires to finish, then starts it and the service, as systemd queues a start after a stop', async () => {
    const dir = await makeTempDir('hearth-sup-');
    const marker = join(dir.path, 'trapped');
    // db takes a second to stop once it has set its trap (the marker says it has).
    const up = await startUp(
      `services:
  db:
    command: [sh, -c, 'trap "sleep 1; exit 0" TERM; : > "$0"; sleep 1000 & wait', ${JSON.stringify(marker)}]
  api:
    command: [sleep, "1000"]
    requires: [db]
`,
      { dir },
    );
    await waitState(up, 'api', 'running');
    await waitFor(() => existsSync(marker), { what: 'db to trap SIGTERM' });
    const stop = up.cli('stop', 'db');
    await waitFor(() => logged(up, 'stopping service', 'db').length > 0, { what: 'the stop of db' });
    expect((await up.service('db')).state).toBe('stopping');
    const start = await up.cli('start', 'api');
    // It was refused: 'api requires db, which is stopping: api was not started'.
    expect(start).toMatchObject({ code: 0, stderr: '' });
    expect(start.stdout).toMatch(/^db: running \(pid \d+\) \(required by api\)\napi: running \(pid \d+\)\n$/);
    expect(await stop).toMatchObject({ code: 0, stdout: 'api: stopped (requires db)\ndb: stopped\n' });
    // The stop finished first: db stopped, then started again (the log lines reach the capture after the answers).
    await waitFor(() => logged(up, 'service started', 'db').length >= 2, { what: "db's second start in the log" });
    expect(logged(up, 'service stopped', 'db')).toHaveLength(1);
    expect(logged(up, 'service started', 'db')).toHaveLength(2);
    expect(await up.service('db')).toMatchObject({ state: 'running', reason: null });
    expect(await up.service('api')).toMatchObject({ state: 'running', reason: null });
  });
});
