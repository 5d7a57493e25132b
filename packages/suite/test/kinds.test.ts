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

  it('a listener named as one of the kind\'s defaults takes its omitted protocol, tls and address from it', async () => {
    const config = await parseSuiteConfig(
      `services:
  snmp: { service: snmp, listen: { snmp: { port: 161 } } }
  files: { service: files, listen: { https: { port: 443, address: 0.0.0.0 }, http: { port: 80 }, plain: { port: 8443 } } }
  pop3: { service: pop3, listen: { pop3s: { port: 995, tls: false } } }
`,
      '/c/h.yaml',
      { registry: KINDS },
    );
    expect(config.services.map((s) => s.listen)).toEqual([
      [{ name: 'snmp', protocol: 'udp', address: '127.0.0.1', port: 161, tls: false }],
      [
        { name: 'https', protocol: 'tcp', address: '0.0.0.0', port: 443, tls: true },
        { name: 'http', protocol: 'tcp', address: '127.0.0.1', port: 80, tls: false },
        { name: 'plain', protocol: 'tcp', address: '127.0.0.1', port: 8443, tls: false },
      ],
      // What the config says wins.
      [{ name: 'pop3s', protocol: 'tcp', address: '127.0.0.1', port: 995, tls: false }],
    ]);
  });

  it('refuses a listener the kind cannot serve on, every one at once', async () => {
    const err = await parseSuiteConfig(
      `services:
  snmp: { service: snmp, listen: { snmp: { port: 161, protocol: tcp } } }
  biff: { service: biff, listen: { comsat: { port: 512, tls: true }, other: { port: 513 } } }
  admin: { service: admin, listen: { web: { port: 8443 } } }
  files: { service: files, listen: { dav: { port: 2080, protocol: udp } } }
`,
      '/c/h.yaml',
      { registry: KINDS },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message.split('\n')).toEqual([
      '/c/h.yaml:2:65: services.snmp.listen.snmp.protocol: snmp serves udp listeners only (this one is tcp)',
      '/c/h.yaml:3:62: services.biff.listen.comsat.tls: biff listens on udp: tls is for tcp listeners',
      '/c/h.yaml:3:77: services.biff.listen.other.protocol: biff serves udp listeners only (this one is tcp)',
      '/c/h.yaml:4:43: services.admin.listen.web.tls: admin is served over TLS only: set tls: true',
      '/c/h.yaml:5:67: services.files.listen.dav.protocol: files serves tcp listeners only (this one is udp)',
    ]);
  });

  it('refuses two listeners on one port whose addresses overlap (an IPv6 wildcard too), each after the first, defaults included', async () => {
    const err = await parseSuiteConfig(
      `services:
  mail: { service: smtp, listen: { mx: { port: 2025 }, submission: { port: 2025 } } }
  files: { service: files, listen: { http: { port: 8080, address: 0.0.0.0 }, dav: { port: 2110 } } }
  admin: { service: admin, listen: { https: { port: 8080 } } }
  biff: { service: biff, listen: { comsat: { port: 2025 }, v6: { port: 2512, address: "::", protocol: udp } } }
  pop3: { service: pop3 }
  smtp: { service: smtp, listen: { mx: { port: 2512, address: 127.0.0.1 } } }
  snmp: { service: snmp, listen: { snmp: { port: 2512, address: "::1" } } }
`,
      '/c/h.yaml',
      { registry: KINDS },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message.split('\n')).toEqual([
      '/c/h.yaml:2:68: services.mail.listen.submission: 127.0.0.1:2025 is also the address of services.mail.listen.mx',
      '/c/h.yaml:4:45: services.admin.listen.https: 127.0.0.1:8080 is also the address of services.files.listen.http',
      '/c/h.yaml:6:9: services.pop3: its default listener pop3: 127.0.0.1:2110 is also the address of services.files.listen.dav',
      '/c/h.yaml:8:42: services.snmp.listen.snmp: [::1]:2512/udp is also the address of services.biff.listen.v6',
    ]);
    // Another protocol, another address, an IPv6 wildcard beside IPv4 (bound IPv6-only), and port 0 are no clash.
    const ok = await parseSuiteConfig(
      `services:
  smtp: { service: smtp, listen: { mx: { port: 2025 }, v6: { port: 2025, address: "::" }, other: { port: 2025, address: 127.0.0.2 }, a: { port: 0 }, b: { port: 0 } } }
  biff: { service: biff, listen: { comsat: { port: 2025 } } }
`,
      '/c/h.yaml',
      { registry: KINDS },
    );
    expect(ok.services.flatMap((s) => s.listen.map((l) => l.name))).toEqual(['mx', 'v6', 'other', 'a', 'b', 'comsat']);
  });
});
