/**
 * The suite config's `tls:` key: `names` for the self-signed certificate (host names and IP
 * addresses, each written as a certificate names it), what is neither refused with its file and
 * line, `names` beside a configured `cert`/`key` refused, and a change of them counted as a change
 * of every Hearth service's shared settings (a reload of each).
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@hearth/config';
import { diffConfigs, parseSuiteConfig } from '@hearth/supervisor';
import type { Registry } from '@hearth/supervisor';
import { ECHO_KIND_MODULE } from '@hearth/testkit';

const registry: Registry = {
  echo: { manifest: { module: ECHO_KIND_MODULE, export: 'manifest' }, definition: { module: ECHO_KIND_MODULE, export: 'definition' }, entry: '/nowhere/echo-main.js' },
};

async function problems(text: string): Promise<string[]> {
  const err = await parseSuiteConfig(text, '/c/h.yaml', { registry }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  return (err as ConfigError).problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);
}

describe('tls.names', () => {
  it('takes host names and IPv4 and IPv6 addresses, each once, as a certificate names them', async () => {
    const cfg = await parseSuiteConfig('tls:\n  names: [NAS.local, 192.168.1.10, "FD00:0::10", "[2001:db8::1]", nas.local, files.example.org]\n', '/c/h.yaml', { registry });
    expect(cfg.tls).toEqual({ names: ['nas.local', '192.168.1.10', 'fd00::10', '2001:db8::1', 'files.example.org'] });
    expect((await parseSuiteConfig('log: { level: info }\n', '/c/h.yaml', { registry })).tls).toEqual({});
  });

  it('refuses what is neither a host name nor an IP address, each with its file and line', async () => {
    const text = `tls:
  names:
    - nas.local
    - "*.example.org"
    - 192.168.1
    - "fe80::1%eth0"
    - https://nas.local/
    - under_score.lan
    - ""
`;
    const neither = (s: string) => `"${s}" is neither a host name (nas.local) nor an IP address (192.168.1.10, fd00::10)`;
    expect(await problems(text)).toEqual([
      `4:7 tls.names[1]: ${neither('*.example.org')}`,
      `5:7 tls.names[2]: ${neither('192.168.1')}`,
      `6:7 tls.names[3]: ${neither('fe80::1%eth0')}`,
      `7:7 tls.names[4]: ${neither('https://nas.local/')}`,
      `8:7 tls.names[5]: ${neither('under_score.lan')}`,
      `9:7 tls.names[6]: ${neither('')}`,
    ]);
  });

  it('refuses names beside a configured cert and key: that certificate names what it names', async () => {
    expect(await problems('tls:\n  cert: /c/cert.pem\n  key: /c/key.pem\n  names: [nas.local]\n')).toEqual([
      '4:10 tls.names: names are for the certificate the suite generates when no cert and key are configured: the configured certificate names what it names; drop names, or cert and key',
    ]);
  });

  it('counts a change of the names as a change of every Hearth service shared settings (each reloads, no command)', async () => {
    const text = (names: string) => `tls: { names: [${names}] }\nservices:\n  a: { service: echo }\n  c: { command: [sh] }\n`;
    const before = await parseSuiteConfig(text('nas.local'), '/c/h.yaml', { registry });
    const same = await parseSuiteConfig(text('NAS.local'), '/c/h.yaml', { registry });
    const more = await parseSuiteConfig(text('nas.local, 192.168.1.10'), '/c/h.yaml', { registry });
    expect(diffConfigs(before, same)).toMatchObject({ reload: [], unchanged: ['a', 'c'] });
    expect(diffConfigs(before, more)).toMatchObject({ reload: ['a'], unchanged: ['c'] });
  });
});
