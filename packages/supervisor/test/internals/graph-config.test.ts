import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@hearth/config';
import { CycleError, LogHub, Ring, defaultSuiteConfig, dependentsOf, diffConfigs, parseSuiteConfig, splitLines, startOrder, stopOrder, tagLine } from '@hearth/supervisor';
import type { Registry, SuiteConfig } from '@hearth/supervisor';
import { ECHO_KIND_MODULE, makeTempDir } from '@hearth/testkit';
import { manifest } from '@hearth/testkit/echo-kind';

const n = (name: string, requires: string[] = [], after: string[] = []) => ({ name, requires, after });

describe('service graph', () => {
  it('orders by requires and after, keeping config order for ties; stop is the reverse', () => {
    const nodes = [n('web', ['api']), n('api', ['db']), n('db'), n('cron', [], ['web', 'absent'])];
    expect(startOrder(nodes)).toEqual(['db', 'api', 'web', 'cron']);
    expect(stopOrder(nodes)).toEqual(['cron', 'web', 'api', 'db']);
  });

  it('finds what requires a service, directly or through others, by requires alone, each with the way there', () => {
    const nodes = [n('web', ['api', 'db']), n('api', ['db']), n('db'), n('cron', [], ['db']), n('report', ['web']), n('other')];
    const order = startOrder(nodes);
    expect(dependentsOf('db', nodes, order)).toEqual([
      { name: 'api', through: ['db'] },
      { name: 'web', through: ['db'] },
      { name: 'report', through: ['web', 'db'] },
    ]);
    expect(dependentsOf('api', nodes, order)).toEqual([
      { name: 'web', through: ['api'] },
      { name: 'report', through: ['web', 'api'] },
    ]);
    expect(dependentsOf('report', nodes, order)).toEqual([]);
  });

  it('names the members of a cycle, and only them', () => {
    const nodes = [n('ok'), n('a', ['b']), n('b', [], ['c']), n('c', ['a']), n('d', ['a'])];
    let err: unknown;
    try {
      startOrder(nodes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CycleError);
    expect([...(err as CycleError).members].sort()).toEqual(['a', 'b', 'c']);
  });
});

const registry: Registry = {
  echo: { manifest: { module: ECHO_KIND_MODULE, export: 'manifest' }, definition: { module: ECHO_KIND_MODULE, export: 'definition' }, entry: '/nowhere/echo-main.js' },
};

describe('suite config', () => {
  it('validates a service kind\'s settings with its schema and applies defaults and default listeners', async () => {
    const cfg = await parseSuiteConfig(`services:\n  e:\n    service: echo\n    settings: { limit: 5 }\n`, '/etc/hearth/h.yaml', { registry });
    const e = cfg.services[0]!;
    expect(e.run).toEqual({ type: 'service', kind: 'echo', entry: '/nowhere/echo-main.js' });
    expect(e.settings).toEqual({ greeting: 'hi', limit: 5 });
    expect(e.listen).toEqual(manifest.defaultListeners);
    expect(e).toMatchObject({ restart: 'always', stopTimeoutMs: 10_000, crashLoop: { failures: 5, windowMs: 60_000 } });
  });

  it('binds an IPv6 wildcard IPv6-only when the same port is also declared on IPv4, and only then', async () => {
    const cfg = await parseSuiteConfig(
      `services:
  a:
    service: echo
    listen:
      v4:  { address: 127.0.0.1, port: 2025 }
      all: { address: "::", port: 2025 }
      udp: { address: "::", port: 2025, protocol: udp }
      own: { address: "0:0:0:0:0:0:0:0", port: 2110 }
      one: { address: "::1", port: 2587 }
  b:
    service: echo
    listen: { four: { address: 0.0.0.0, port: 2587 } }
`,
      '/etc/hearth/h.yaml',
      { registry },
    );
    const only = (name: string): boolean | undefined => cfg.services[0]!.listen.find((l) => l.name === name)?.ipv6Only;
    expect(only('all')).toBe(true); // 127.0.0.1:2025/tcp is declared too
    expect(only('udp')).toBeUndefined(); // no IPv4 listener on 2025/udp: dual-stack
    expect(only('own')).toBeUndefined(); // the wildcard alone on 2110: dual-stack
    expect(only('one')).toBeUndefined(); // ::1 is no wildcard: it cannot overlap b's 0.0.0.0:2587
    expect(only('v4')).toBeUndefined();
  });

  it('reports bad settings, unknown kinds and misplaced keys with their lines', async () => {
    const text = `services:
  e:
    service: echo
    settings: { limit: "x" }
  f:
    service: ecko
  g:
    command: [sh]
    listen: { a: { port: 1 } }
`;
    const err = await parseSuiteConfig(text, '/c/h.yaml', { registry }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const lines = (err as ConfigError).message.split('\n');
    expect(lines[0]).toMatch(/^\/c\/h\.yaml:4:\d+: services\.e\.settings\.limit: /);
    expect(lines[1]).toBe('/c/h.yaml:6:14: services.f.service: unknown service kind "ecko" (did you mean "echo"?); known: echo');
    expect(lines[2]).toMatch(/^\/c\/h\.yaml:9:\d+: services\.g\.listen: listen: is for Hearth services/);
  });

  it('needs exactly one of service, module or command', async () => {
    const err = await parseSuiteConfig(`services:\n  x: { command: [sh], service: echo }\n`, '/c/h.yaml', { registry }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('services.x: a service needs exactly one of service:, module: or command:');
  });

  it('standby: defaults to true for Hearth services, false for commands, and is an error on a command', async () => {
    const cfg = await parseSuiteConfig(`services:\n  e: { service: echo }\n  f: { service: echo, standby: false, listen: { a: { port: 0 } } }\n  c: { command: [sh] }\n`, '/c/h.yaml', { registry });
    expect(cfg.services.map((s) => [s.name, s.standby])).toEqual([['e', true], ['f', false], ['c', false]]);
    expect((await defaultSuiteConfig({ registry })).services[0]!.standby).toBe(true);
    const err = await parseSuiteConfig(`services:\n  c:\n    command: [sh]\n    standby: true\n`, '/c/h.yaml', { registry }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/^\/c\/h\.yaml:4:\d+: services\.c\.standby: standby: is for Hearth services \(service: or module:\); a command: cannot be pre-started$/);
  });

  it('refuses user: unless running as root', async () => {
    const err = await parseSuiteConfig(`services:\n  x: { command: [sh], user: nobody }\n`, '/c/h.yaml', { registry, isRoot: false }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('services.x.user: user "nobody": hearth must run as root');
  });

  it('embeds every registry kind with defaults when there is no file', async () => {
    const cfg = await defaultSuiteConfig({ registry });
    expect(cfg.file).toBeUndefined();
    expect(cfg.services.map((s) => [s.name, s.listen[0]?.port])).toEqual([['echo', 2007]]);
    expect(cfg.mail.domains).toContain('localhost');
  });

  it('diffs a reload: a settings change reloads one service; new certificate contents, or other tls paths, reload every Hearth service and no command', async () => {
    const text = (greeting: string, cert: string) =>
      `tls: { cert: /etc/tls/${cert}, key: /etc/tls/key.pem }\nservices:\n  a: { service: echo, settings: { greeting: ${greeting} } }\n  b: { service: echo, listen: { main: { port: 0 } } }\n  c: { command: [sh] }\n`;
    const cfg = await parseSuiteConfig(text('hi', 'cert.pem'), '/c/h.yaml', { registry });
    const diff = (next: SuiteConfig, tlsFilesChanged?: boolean) => diffConfigs(cfg, next, tlsFilesChanged);
    const nothing = { added: [], removed: [], restart: [] };
    expect(diff(cfg)).toEqual({ ...nothing, reload: [], unchanged: ['a', 'b', 'c'] });
    expect(diff(await parseSuiteConfig(text('ho', 'cert.pem'), '/c/h.yaml', { registry }))).toEqual({ ...nothing, reload: ['a'], unchanged: ['b', 'c'] });
    expect(diff(cfg, true)).toEqual({ ...nothing, reload: ['a', 'b'], unchanged: ['c'] });
    expect(diff(await parseSuiteConfig(text('hi', 'other.pem'), '/c/h.yaml', { registry }))).toEqual({ ...nothing, reload: ['a', 'b'], unchanged: ['c'] });
    // An instance that runs older shared settings (its restart to take them failed) is sent them again; a command gets none.
    expect(diffConfigs(cfg, cfg, false, new Set(['b', 'c']))).toEqual({ ...nothing, reload: ['b'], unchanged: ['a', 'c'] });
  });

  it('resolves data, cwd and module paths against the config file\'s folder', async () => {
    const dir = await makeTempDir('hearth-cwd-');
    try {
      mkdirSync(join(dir.path, 'work'));
      const cfg = await parseSuiteConfig(`data: ./d\nservices:\n  c: { command: [sh], cwd: work }\n`, join(dir.path, 'h.yaml'), { registry });
      expect(cfg.data).toBe(join(dir.path, 'd'));
      expect(cfg.services[0]!.cwd).toBe(join(dir.path, 'work'));
    } finally {
      await dir.remove();
    }
  });

  it('refuses a cwd: that is no directory, naming it (a spawn there failed as "command not found")', async () => {
    const err = await parseSuiteConfig(`services:\n  c:\n    command: [sh]\n    cwd: /no/such/dir\n`, '/c/h.yaml', { registry }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe('/c/h.yaml:4:10: services.c.cwd: /no/such/dir: no such directory');
  });

  it('reports every problem at once: those found across services and the suite too, beside a key of theirs that failed its own check', async () => {
    const text = `tls: { cert: /c/cert.pem }
services:
  web:
    comand: [sleep, "1"]
    restart: sometimes
  other:
    command: [no-such-program-xyz]
    requires: [wbe]
    limits: { nofile: lots }
  odd:
    command: sleep 1
    requires: oops
`;
    const err = await parseSuiteConfig(text, '/c/h.yaml', { registry }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const found = (err as ConfigError).problems.map((p) => `${p.line} ${p.path}: ${p.message}`);
    expect(found).toEqual([
      '1 tls: needs both cert and key, or neither',
      '4 services.web.comand: unknown key "comand" (did you mean "command"?)',
      '4 services.web: a service needs exactly one of service:, module: or command:',
      '5 services.web.restart: Invalid option: expected one of "always"|"on-failure"|"never"',
      '7 services.other.command[0]: no-such-program-xyz: command not found',
      '8 services.other.requires[0]: no service named "wbe" (did you mean "web"?)',
      '9 services.other.limits.nofile: expected number, received string',
      '11 services.odd.command: expected array, received string',
      '12 services.odd.requires: expected array, received string',
    ]);
  });
});

describe('log capture pieces', () => {
  it('splits lines across chunks and caps a long one', async () => {
    const stream = new PassThrough();
    const got: [string, boolean][] = [];
    splitLines(stream, (line, truncated) => got.push([line, truncated]), 8);
    stream.write('ab');
    stream.write('c\r\nde');
    stream.write('f\n0123456789abc\nlast');
    stream.end();
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual([['abc', false], ['def', false], ['01234567', true], ['last', false]]);
  });

  it('keeps the most recent lines in a ring', () => {
    const ring = new Ring(3);
    for (const l of ['a', 'b', 'c', 'd']) ring.push(l);
    expect(ring.tail()).toEqual(['b', 'c', 'd']);
    expect(ring.tail(2)).toEqual(['c', 'd']);
  });

  it('gives no recent lines when asked for none, for one service or all (a follow that wants only new lines)', () => {
    const hub = new LogHub(() => {});
    hub.add('a', '{"time":1,"msg":"x"}');
    hub.add('b', '{"time":2,"msg":"y"}');
    expect(hub.recent(undefined, 0)).toEqual([]);
    expect(hub.recent('a', 0)).toEqual([]);
    expect(hub.recent(undefined, 1)).toEqual([{ svc: 'b', line: '{"time":2,"msg":"y"}' }]);
  });

  it('tags plain text and keeps JSON fields without letting a child forge svc or pid', () => {
    const plain = JSON.parse(tagLine('hello', { svc: 's', pid: 7, stream: 'stderr' }, false)) as Record<string, unknown>;
    expect(plain).toMatchObject({ svc: 's', pid: 7, stream: 'stderr', msg: 'hello', level: 40 });
    const json = JSON.parse(tagLine('{"msg":"m","svc":"other","pid":1,"k":2}', { svc: 's', pid: 7, stream: 'stdout' }, false)) as Record<string, unknown>;
    expect(json).toEqual({ msg: 'm', svc: 's', pid: 7, k: 2 });
  });
});
