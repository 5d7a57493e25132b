/** Reading the suite config in a worker thread gives what reading it in-process gives. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '@hearth/config';
import { defaultSuiteConfig, loadSuiteConfig, loadSuiteConfigIsolated } from '@hearth/supervisor';
import { FIXTURE_KINDS, FIXTURE_SERVICE_PATH, makeTempDir } from '@hearth/testkit';
import type { TempDir } from '@hearth/testkit';

let dir: TempDir | undefined;
afterEach(async () => {
  await dir?.remove();
  dir = undefined;
});

async function file(name: string, text: string): Promise<string> {
  dir ??= await makeTempDir('hearth-cfg-');
  const path = join(dir.path, name);
  writeFileSync(path, text);
  return path;
}

describe('loadSuiteConfigIsolated', () => {
  it('returns the same config as the in-process loader, module: and command: services included', async () => {
    const path = await file(
      'h.yaml',
      `log: { level: debug }\nservices:\n  fx:\n    module: ${JSON.stringify(FIXTURE_SERVICE_PATH)}\n    listen: { main: { port: 0 } }\n  sh:\n    command: [sh, -c, "sleep 1"]\n    requires: [fx]\n    ready: { delay: 200ms }\n`,
    );
    const isolated = await loadSuiteConfigIsolated(path, {});
    expect(isolated).toEqual(await loadSuiteConfig(path));
    expect(isolated.services.map((s) => [s.name, s.run.type])).toEqual([['fx', 'module'], ['sh', 'command']]);
    expect(isolated.logLevel).toBe('debug');
  });

  it('returns the embedded default for no file: one service per kind of the registry it is given', async () => {
    const isolated = await loadSuiteConfigIsolated(undefined, FIXTURE_KINDS);
    expect(isolated).toEqual(await defaultSuiteConfig({ registry: FIXTURE_KINDS }));
    expect(isolated.services.map((s) => [s.name, s.run])).toEqual([['fixture', { type: 'service', kind: 'fixture', entry: FIXTURE_KINDS.fixture.entry }]]);
  });

  it('names the kinds of the registry it is given, with a did-you-mean, file and line', async () => {
    const path = await file('kind.yaml', `services:\n  f:\n    service: fixtur\n`);
    const err = await loadSuiteConfigIsolated(path, FIXTURE_KINDS).catch((e: unknown) => e);
    expect((err as ConfigError).message).toBe(`${path}:3:14: services.f.service: unknown service kind "fixtur" (did you mean "fixture"?); known: fixture`);
    const none = await loadSuiteConfigIsolated(path, {}).catch((e: unknown) => e);
    expect((none as ConfigError).message).toBe(`${path}:3:14: services.f.service: unknown service kind "fixtur"; known: none yet`);
  });

  it('throws the same ConfigError, every problem with its file and line', async () => {
    const path = await file('bad.yaml', `services:\n  a:\n    command: [sh]\n    restrat: always\n  b:\n    command: [sh]\n    requires: [a, c]\n`);
    const inProcess = await loadSuiteConfig(path).catch((e: unknown) => e);
    const err = await loadSuiteConfigIsolated(path, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe((inProcess as ConfigError).message);
    expect((err as ConfigError).message).toContain(`${path}:4:5: services.a.restrat: unknown key "restrat" (did you mean "restart"?)`);
    expect((err as ConfigError).problems).toHaveLength(2);
    const missing = await loadSuiteConfigIsolated(join(dir!.path, 'absent.yaml'), {}).catch((e: unknown) => e);
    expect((missing as ConfigError).message).toMatch(/absent\.yaml: no such file$/);
  });

  it('ends the worker even when a module keeps its event loop busy at import', async () => {
    const ticks = await file('ticks', '');
    // Ticks into a file every 10 ms for as long as the worker runs.
    const mod = await file('busy.mjs', `import { appendFileSync } from 'node:fs';\nsetInterval(() => appendFileSync(${JSON.stringify(ticks)}, '.'), 10);\nexport { definition } from ${JSON.stringify(FIXTURE_SERVICE_PATH)};\n`);
    const path = await file('busy.yaml', `services:\n  b: { module: ./busy.mjs }\n`);
    const cfg = await loadSuiteConfigIsolated(path, {});
    expect(cfg.services[0]!.run).toMatchObject({ type: 'module', module: mod });
    await new Promise((r) => setTimeout(r, 100));
    const after = readFileSync(ticks, 'utf8').length;
    await new Promise((r) => setTimeout(r, 300));
    expect(readFileSync(ticks, 'utf8').length).toBe(after);
  });
});
