import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConfigError,
  byteSize,
  didYouMean,
  duration,
  loadConfigFile,
  parseConfigText,
  port,
} from '@hearth/config';

const listener = z.strictObject({ address: z.string().default('127.0.0.1'), port: port(), tls: z.boolean().default(false) });
const schema = z.strictObject({
  data: z.string().default('./data'),
  log: z.strictObject({ level: z.enum(['debug', 'info', 'warn', 'error']).default('info') }).default({ level: 'info' }),
  services: z
    .record(
      z.string(),
      z.strictObject({
        service: z.string().optional(),
        listen: z.record(z.string(), listener).optional(),
        stopTimeout: duration().default(10_000),
        settings: z.strictObject({ maxMessageSize: byteSize().optional() }).optional(),
      }),
    )
    .default({}),
});

function problemOf(text: string): ConfigError {
  try {
    parseConfigText(text, 'hearth.yaml', schema);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfigText', () => {
  it('parses, applies defaults and freezes deeply', () => {
    const cfg = parseConfigText(
      'services:\n  smtp:\n    listen:\n      mx: { port: 2025 }\n    stopTimeout: 2m\n',
      'hearth.yaml',
      schema,
    );
    expect(cfg.data).toBe('./data');
    expect(cfg.services['smtp']?.stopTimeout).toBe(120_000);
    expect(cfg.services['smtp']?.listen?.['mx']).toEqual({ address: '127.0.0.1', port: 2025, tls: false });
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.services['smtp']?.listen?.['mx'])).toBe(true);
    expect(() => {
      (cfg as { data: string }).data = 'x';
    }).toThrow(TypeError);
  });

  it('treats an empty file as {}', () => {
    expect(parseConfigText('', 'e.yaml', schema).data).toBe('./data');
    expect(parseConfigText('# only a comment\n', 'e.yaml', schema).services).toEqual({});
  });

  it('rejects malformed YAML with file and line', () => {
    const err = problemOf('log:\n  level: info\nservices: [a, b\n');
    expect(err.exitCode).toBe(78);
    expect(err.problems.length).toBeGreaterThan(0);
    expect(err.message).toMatch(/^hearth\.yaml:\d+:\d+: YAML: /);
  });

  it('rejects a duplicate key at its line', () => {
    const err = problemOf('data: ./a\nlog:\n  level: info\ndata: ./b\n');
    expect(err.problems[0]?.line).toBe(4);
    expect(err.message).toMatch(/^hearth\.yaml:4:1: YAML: .*unique/);
  });

  it('names an unknown key with its line, column and a suggestion', () => {
    const err = problemOf('services:\n  smtp:\n    service: smtp\n    listne:\n      mx: { port: 25 }\n');
    expect(err.problems).toHaveLength(1);
    expect(err.message).toBe('hearth.yaml:4:5: services.smtp.listne: unknown key "listne" (did you mean "listen"?)');
  });

  it('gives no suggestion when nothing is close', () => {
    const err = problemOf('zzzzzz: 1\n');
    expect(err.message).toBe('hearth.yaml:1:1: zzzzzz: unknown key "zzzzzz"');
  });

  it('names a value of the wrong type at the value', () => {
    const err = problemOf('services:\n  smtp:\n    listen:\n      mx: { port: "twenty" }\n');
    expect(err.problems).toHaveLength(1);
    const p = err.problems[0]!;
    expect(p.path).toBe('services.smtp.listen.mx.port');
    expect(p.line).toBe(4);
    expect(p.column).toBe(19);
    expect(p.message).toMatch(/number/);
  });

  it('reports a missing required key at its parent', () => {
    const err = problemOf('services:\n  smtp:\n    listen:\n      mx: { address: ::1 }\n');
    expect(err.problems[0]?.path).toBe('services.smtp.listen.mx.port');
    expect(err.problems[0]?.line).toBe(4);
    expect(err.problems[0]?.message).toMatch(/missing/);
  });

  it('reports several problems together, in file order', () => {
    const err = problemOf(
      'log:\n  levle: info\nservices:\n  a:\n    stopTimeout: soon\n  b:\n    settings: { maxMessageSize: 12parsecs }\n',
    );
    const lines = err.message.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^hearth\.yaml:2:3: log\.levle: unknown key "levle" \(did you mean "level"\?\)$/);
    expect(lines[1]).toMatch(/^hearth\.yaml:5:18: services\.a\.stopTimeout: invalid duration "soon"/);
    expect(lines[2]).toMatch(/^hearth\.yaml:7:33: services\.b\.settings\.maxMessageSize: invalid size/);
  });
});

describe('unions', () => {
  const ready = z.strictObject({
    ready: z.union([z.strictObject({ tcp: z.string() }), z.strictObject({ delay: duration() })]).optional(),
    t: duration().optional(),
  });
  const message = (text: string) => {
    try {
      parseConfigText(text, 'u.yaml', ready);
    } catch (err) {
      return (err as ConfigError).message;
    }
    return 'no error';
  };

  it('names an unknown key every branch rejects, with a suggestion from all branches', () => {
    expect(message('ready: { tpc: "127.0.0.1:80" }\n')).toBe('u.yaml:1:10: ready.tpc: unknown key "tpc" (did you mean "tcp"?)');
  });

  it('reports the branch that matched best', () => {
    expect(message('ready:\n  tcp: 80\n')).toBe('u.yaml:2:8: ready.tcp: expected string, received number');
  });

  it('explains a value of none of the union types', () => {
    expect(message('t: true\n')).toBe('u.yaml:1:4: t: expected a duration such as 500ms, 10s, 2m or 1h');
    expect(message('ready: 5\n')).toBe('u.yaml:1:8: ready: expected object');
  });
});

describe('loadConfigFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file and names it in errors', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, 'data: /srv/hearth\n');
    expect(loadConfigFile(file, schema).data).toBe('/srv/hearth');
    writeFileSync(file, 'dta: x\n');
    expect(() => loadConfigFile(file, schema)).toThrow(`${file}:1:1: dta: unknown key "dta" (did you mean "data"?)`);
  });

  it('reports a missing file as a ConfigError', () => {
    const file = join(dir, 'nope.yaml');
    expect(() => loadConfigFile(file, schema)).toThrow(ConfigError);
    expect(() => loadConfigFile(file, schema)).toThrow(`${file}: no such file`);
    expect(() => loadConfigFile(dir, schema)).toThrow(/is a directory/);
  });
});

describe('value types', () => {
  it('parses durations', () => {
    const d = duration();
    expect(d.parse('500ms')).toBe(500);
    expect(d.parse('10s')).toBe(10_000);
    expect(d.parse('2m')).toBe(120_000);
    expect(d.parse('1h')).toBe(3_600_000);
    expect(d.parse('1.5s')).toBe(1500);
    expect(d.parse(250)).toBe(250);
    expect(d.safeParse('10 parsecs').success).toBe(false);
    expect(d.safeParse(-1).success).toBe(false);
  });

  it('parses byte sizes', () => {
    const s = byteSize();
    expect(s.parse('25MB')).toBe(25_000_000);
    expect(s.parse('512KiB')).toBe(512 * 1024);
    expect(s.parse('1GB')).toBe(1_000_000_000);
    expect(s.parse('1gib')).toBe(1024 ** 3);
    expect(s.parse(4096)).toBe(4096);
    expect(s.parse('100')).toBe(100);
    expect(s.safeParse('lots').success).toBe(false);
  });

  it('checks ports', () => {
    expect(port().safeParse(2025).success).toBe(true);
    expect(port().safeParse(70000).success).toBe(false);
    expect(port().safeParse(1.5).success).toBe(false);
  });

  it('suggests close words only', () => {
    expect(didYouMean('listne', ['listen', 'service', 'settings'])).toBe('listen');
    expect(didYouMean('Servce', ['service'])).toBe('service');
    expect(didYouMean('xyz', ['listen', 'service'])).toBeUndefined();
  });
});
