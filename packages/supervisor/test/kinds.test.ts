/**
 * Service kinds come from the registry the caller hands the supervisor: the embedded default
 * runs one service of each kind, as `node ENTRY`, and a reload reads the config again with the
 * same registry. Run in-process with the test kit's fixture kinds (no Hearth service involved).
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@hearth/log';
import { Supervisor, loadSuiteConfigIsolated } from '@hearth/supervisor';
import type { Registry } from '@hearth/supervisor';
import { FIXTURE_KINDS, connectAndReadLine, makeTempDir } from '@hearth/testkit';
import type { TempDir } from '@hearth/testkit';

let dir: TempDir | undefined;
let sup: Supervisor | undefined;
afterEach(async () => {
  await sup?.shutdown('test over');
  sup = undefined;
  await dir?.remove();
  dir = undefined;
});

describe('service kinds from the registry', () => {
  it('runs one service per kind in the embedded default, each from its entry, and reloads with the same registry', async () => {
    // Two kinds: each is one entry, nothing in the supervisor.
    const registry: Registry = { fixture: FIXTURE_KINDS.fixture, second: FIXTURE_KINDS.fixture };
    dir = await makeTempDir('hearth-kinds-');
    const config = await loadSuiteConfigIsolated(undefined, registry);
    const log = createLogger({ svc: 'supervisor', level: 'silent' });
    sup = await Supervisor.open({ config, registry, dataDir: join(dir.path, 'data'), log, logLevel: 'silent', lifeline: false });
    await sup.startAll();
    const rows = sup.status();
    expect(rows.map((r) => [r.name, r.type, r.kind, r.state])).toEqual([
      ['fixture', 'service', 'fixture', 'running'],
      ['second', 'service', 'second', 'running'],
    ]);
    for (const row of rows) {
      expect(await connectAndReadLine(row.listeners[0]!.port)).toBe(`hello ${row.pid}`);
    }
    const reload = await sup.reload();
    expect(reload).toMatchObject({ added: [], removed: [], unchanged: ['fixture', 'second'], failed: [] });
    expect(await sup.shutdown('test over')).toBe(true);
  });
});
