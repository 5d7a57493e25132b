/** Hearth's own kinds, as the supervisor and the config worker receive them. */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@hearth/config';
import { defaultSuiteConfig, kindDefinition, kindManifest, loadSuiteConfigIsolated, parseSuiteConfig } from '@hearth/supervisor';
import { KINDS } from '@hearth/suite';

describe('KINDS', () => {
  it('is plain data: it survives a structured clone unchanged (the config worker gets a copy)', () => {
    expect(structuredClone(KINDS)).toEqual(KINDS);
  });

  it.each(Object.keys(KINDS))('%s: its manifest and definition load, name the kind, and its entry exists', async (kind) => {
    const manifest = await kindManifest(KINDS, kind);
    const definition = await kindDefinition(KINDS, kind);
    expect(manifest?.kind).toBe(kind);
    expect(definition.kind).toBe(kind);
    expect(typeof definition.start).toBe('function');
    expect(existsSync(KINDS[kind]!.entry)).toBe(true);
  });

  it('the embedded default runs biff, smtp, pop3, snmp, files and admin on their default listeners; the worker returns the same', async () => {
    const isolated = await loadSuiteConfigIsolated(undefined, KINDS);
    expect(isolated).toEqual(await defaultSuiteConfig({ registry: KINDS }));
    expect(isolated.services.map((s) => [s.name, s.run.type, s.requires, s.listen.map((l) => `${l.name}:${l.port}`)])).toEqual([
      ['biff', 'service', [], ['comsat:2512']],
      ['smtp', 'service', [], ['mx:2025', 'submission:2587', 'smtps:2465']],
      ['pop3', 'service', [], ['pop3:2110', 'pop3s:2995']],
      ['snmp', 'service', [], ['snmp:2161']],
      ['files', 'service', [], ['http:2080', 'https:2443']],
      ['admin', 'service', [], ['https:2843']],
    ]);
  });

  it('names Hearth\'s kinds in a config error, with a did-you-mean', async () => {
    const err = await parseSuiteConfig(`services:\n  m:\n    service: smpt\n`, '/c/h.yaml', { registry: KINDS }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe('/c/h.yaml:3:14: services.m.service: unknown service kind "smpt" (did you mean "smtp"?); known: biff, smtp, pop3, snmp, files, admin');
  });
});
