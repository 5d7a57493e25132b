/**
 * The hosts of `hearth files`' steps (`@hearth/files/connect-help`): an IPv6 address in brackets in
 * a URL (a zone index as %25, RFC 6874) and in its ipv6-literal.net form in a Windows UNC path,
 * which takes no colon; a name or IPv4 address as it is in both.
 */
import { describe, expect, it } from 'vitest';
import { connectHelp, fileListener, httpsHost, localAddress, loopbackListener, plainHttpConnectHelp, reachableFromOtherMachines, uncHost, urlHost } from '../dist/connect-help.js';

describe('uncHost', () => {
  it('writes an IPv6 address as Windows takes it in a UNC path: ":" as "-", then .ipv6-literal.net', () => {
    expect(uncHost('::1')).toBe('--1.ipv6-literal.net');
    expect(uncHost('2001:db8::1')).toBe('2001-db8--1.ipv6-literal.net');
    expect(uncHost('2001:db8:85a3:8d3:1319:8a2e:370:7348')).toBe('2001-db8-85a3-8d3-1319-8a2e-370-7348.ipv6-literal.net');
  });

  it('writes a zone index after an "s"', () => {
    expect(uncHost('fe80::1ff:fe23:4567:890a%3')).toBe('fe80--1ff-fe23-4567-890as3.ipv6-literal.net');
    expect(uncHost('fe80::1%eth0')).toBe('fe80--1seth0.ipv6-literal.net');
  });

  it('leaves a host name or an IPv4 address as it is', () => {
    expect(uncHost('nas.local')).toBe('nas.local');
    expect(uncHost('192.168.1.20')).toBe('192.168.1.20');
  });
});

describe('urlHost', () => {
  it('puts an IPv6 address in brackets, its zone index after %25', () => {
    expect(urlHost('::1')).toBe('[::1]');
    expect(urlHost('2001:db8::1')).toBe('[2001:db8::1]');
    expect(urlHost('fe80::1%eth0')).toBe('[fe80::1%25eth0]');
    expect(urlHost('nas.local')).toBe('nas.local');
  });
});

describe('the steps for a host that is an IPv6 address', () => {
  it('over HTTPS: the URLs with the address in brackets, the Windows folder in its ipv6-literal.net form', () => {
    const text = connectHelp({ user: 'alice', host: '2001:db8::1', httpsPort: 2443, httpOrigin: undefined, certificate: { kind: 'self-signed', file: '/data/cert.pem' } });
    expect(text).toContain('  https://[2001:db8::1]:2443/home/   your private folder\n');
    expect(text).toContain('Folder: \\\\2001-db8--1.ipv6-literal.net@SSL@2443\\DavWWWRoot\\home\n     (or https://[2001:db8::1]:2443/home/)');
    expect(text).toContain('Other Locations > Connect to Server: davs://[2001:db8::1]:2443/home/');
    expect(text).toContain('rclone config create hearth webdav url=https://[2001:db8::1]:2443/ ');
    expect(text).not.toMatch(/\\\\\[|\\\\[0-9a-f]*:/);
  });

  it('over plain HTTP, on port 80 and on another', () => {
    const input = { user: 'alice', service: 'files', host: 'fe80::1%3', loopbackOnly: undefined, allowPlaintextAuth: true };
    const on8080 = plainHttpConnectHelp({ ...input, port: 8080 });
    expect(on8080).toContain('  http://[fe80::1%253]:8080/home/   your private folder\n');
    expect(on8080).toContain('Folder: \\\\fe80--1s3.ipv6-literal.net@8080\\DavWWWRoot\\home\n     (or http://[fe80::1%253]:8080/home/)');
    expect(on8080).toContain('Other Locations > Connect to Server: dav://[fe80::1%253]:8080/home/');
    const on80 = plainHttpConnectHelp({ ...input, host: '::1', port: 80 });
    expect(on80).toContain('Folder: \\\\--1.ipv6-literal.net\\DavWWWRoot\\home\n');
  });
});

describe("Windows' WebClient limits", () => {
  const key = 'reg add HKLM\\SYSTEM\\CurrentControlSet\\Services\\WebClient\\Parameters';
  const limits = [
    `       ${key} /v FileSizeLimitInBytes /t REG_DWORD /d 4294967295 /f`,
    `       ${key} /v FileAttributesLimitInBytes /t REG_DWORD /d 100000000 /f`,
    '       net stop webclient && net start webclient',
    '     (4294967295 is the most Windows takes: a file of 4 GiB or more goes through rclone.)',
  ];
  const windowsSteps = (text: string): string[] => text.slice(text.indexOf('Windows (File Explorer)'), text.indexOf('Linux (GNOME Files)')).split('\n');

  it('over HTTPS: raised in a step of their own, after the certificate and before the drive is mapped', () => {
    const text = connectHelp({ user: 'alice', host: 'nas.local', httpsPort: 2443, httpOrigin: undefined, certificate: { kind: 'self-signed', file: '/data/cert.pem' } });
    expect(windowsSteps(text).slice(3, 12)).toEqual([
      "  2. Windows' WebClient refuses a file over 50 MB and a folder of more than about a thousand",
      '     files by default. Raise both limits once, in a Command Prompt run as administrator:',
      ...limits,
      '  3. This PC > Map network drive, Folder: \\\\nas.local@SSL@2443\\DavWWWRoot\\home',
      '     (or https://nas.local:2443/home/), tick "Connect using different credentials", Finish.',
      '  4. Name alice, your password.',
    ]);
  });

  it('over plain HTTP: raised with BasicAuthLevel, in one restart of the WebClient service', () => {
    const text = plainHttpConnectHelp({ user: 'alice', service: 'files', host: 'nas.local', port: 8080, loopbackOnly: undefined, allowPlaintextAuth: true });
    expect(windowsSteps(text).slice(1, 9)).toEqual([
      "  1. Windows' WebClient refuses by default Basic authentication over plain HTTP (BasicAuthLevel",
      '     1), a file over 50 MB and a folder of more than about a thousand files. Allow them once,',
      '     in a Command Prompt run as administrator:',
      `       ${key} /v BasicAuthLevel /t REG_DWORD /d 2 /f`,
      ...limits,
    ]);
    expect(text.match(/net stop webclient/g)).toHaveLength(1);
  });
});

describe('a listener on an IPv6 wildcard or loopback address, in any spelling', () => {
  it('is reached as localhost over HTTPS, at ::1 by programs on this machine, and as itself when it is neither', () => {
    for (const wildcard of ['::', '0::0', '0:0:0:0:0:0:0:0']) {
      expect(httpsHost(wildcard, undefined)).toBe('localhost');
      expect(localAddress(wildcard)).toBe('::1');
      expect(reachableFromOtherMachines(wildcard)).toBe(true);
    }
    for (const loopback of ['::1', '0:0:0:0:0:0:0:1', '::0001']) {
      expect(httpsHost(loopback, undefined)).toBe('localhost');
      expect(reachableFromOtherMachines(loopback)).toBe(false);
    }
    expect(httpsHost('2001:db8::1', undefined)).toBe('2001:db8::1');
    expect(httpsHost('::10', undefined)).toBe('::10');
    expect(reachableFromOtherMachines('::10')).toBe(true);
    expect(localAddress('2001:db8::1')).toBe('2001:db8::1');
    expect(httpsHost('::', 'nas.local')).toBe('nas.local');
  });
});

describe('fileListener', () => {
  const tcp = (name: string, tls?: boolean) => ({ name, protocol: 'tcp', ...(tls === undefined ? {} : { tls }) });
  it('takes the TCP listener with or without TLS, whatever its name, the one named https or http first', () => {
    const listeners = [tcp('web', false), tcp('secure', true), tcp('http', false), { name: 'https', protocol: 'udp', tls: true }];
    expect(fileListener(listeners, false)?.name).toBe('http');
    expect(fileListener(listeners, true)?.name).toBe('secure');
    expect(fileListener([tcp('web', false)], true)).toBeUndefined();
  });
  it('takes a listener that does not say whether it has TLS (an older supervisor) by its name alone', () => {
    expect(fileListener([tcp('web'), tcp('https')], true)?.name).toBe('https');
    expect(fileListener([tcp('web'), tcp('https')], false)).toBeUndefined();
  });
});

describe('a host the certificate does not name', () => {
  const input = { user: 'alice', host: '192.168.1.10', httpsPort: 2443, httpOrigin: undefined } as const;
  const names = ['localhost', 'nas', 'nas.local', '127.0.0.1', '::1'];

  it('gets a warning above the steps: for the self-signed certificate, tls.names and a reload, or a name it has', () => {
    const text = connectHelp({ ...input, certificate: { kind: 'self-signed', file: '/data/cert.pem' }, hostCheck: { named: false, names } });
    expect(text.split('\n').slice(0, 7)).toEqual([
      'Warning: the certificate does not name 192.168.1.10, so clients will refuse to connect',
      'to it, even once they trust the certificate. To fix it, either add 192.168.1.10 to tls.names',
      'in the suite config and run hearth reload (the suite then makes a new certificate, which',
      'devices must trust), or use a name the certificate has:',
      '  localhost, nas, nas.local, 127.0.0.1, ::1',
      '',
      'Files for alice',
    ]);
  });

  it('on the embedded default config: the config file to write for tls.names (the host quoted), and how to start on it', () => {
    const text = connectHelp({ ...input, host: 'fd00::10', certificate: { kind: 'self-signed', file: '/data/cert.pem' }, hostCheck: { named: false, names }, embeddedConfig: true });
    expect(text.split('\n').slice(0, 14)).toEqual([
      'Warning: the certificate does not name fd00::10, so clients will refuse to connect',
      'to it, even once they trust the certificate. To fix it, either add fd00::10 to tls.names',
      'in a config file (the suite runs on its embedded default config, which has none): write',
      'hearth.yaml holding only',
      '  tls:',
      '    names: ["fd00::10"]',
      '(a config without services: runs the default services), then run hearth down and',
      'hearth up --config hearth.yaml as you ran hearth up (same directory and --data); the',
      'suite then makes a new certificate, which devices must trust. Or use a name the',
      'certificate has:',
      '  localhost, nas, nas.local, 127.0.0.1, ::1',
      '',
      'Files for alice',
      '  https://[fd00::10]:2443/home/   your private folder',
    ]);
    // From a config file, the first text; a configured certificate needs a file anyway.
    const fromFile = connectHelp({ ...input, certificate: { kind: 'self-signed', file: '/data/cert.pem' }, hostCheck: { named: false, names }, embeddedConfig: false });
    expect(fromFile).toContain('in the suite config and run hearth reload');
  });

  it('for a configured certificate: one that names it, or a name it has', () => {
    const text = connectHelp({ ...input, certificate: { kind: 'configured', file: '/etc/cert.pem' }, hostCheck: { named: false, names: ['nas.example.org'] } });
    expect(text).toMatch(/^Warning: the certificate does not name 192\.168\.1\.10, so clients will refuse to connect\nto it\. To fix it, either configure a certificate that names it \(tls\.cert and tls\.key/);
    expect(text).toContain('  nas.example.org\n\nFiles for alice\n');
  });

  it('gets no warning when the certificate names it, or when it was not checked', () => {
    const named = connectHelp({ ...input, certificate: { kind: 'self-signed', file: '/data/cert.pem' }, hostCheck: { named: true, names } });
    const unchecked = connectHelp({ ...input, certificate: { kind: 'self-signed', file: '/data/cert.pem' } });
    expect(named).toMatch(/^Files for alice\n/);
    expect(unchecked).toBe(named);
  });
});

describe('a listener on loopback only', () => {
  const https = { user: 'alice', host: 'localhost', httpsPort: 2443, httpOrigin: 'http://127.0.0.1:2080', certificate: { kind: 'self-signed', file: '/data/cert.pem' } } as const;
  const loopback = { service: 'dav', listener: 'secure', address: '127.0.0.1' };

  it('over HTTPS: a note below the URLs says other devices cannot reach it, and which setting to change', () => {
    const text = connectHelp({ ...https, loopbackOnly: loopback });
    expect(text.split('\n').slice(0, 12)).toEqual([
      'Files for alice',
      '  https://localhost:2443/home/   your private folder',
      '  https://localhost:2443/        lists the shares you may use (each at https://localhost:2443/<share>/)',
      '  http://127.0.0.1:2080/ plain HTTP, for programs on this machine only',
      '',
      'Its HTTPS listener is on 127.0.0.1 only: programs on this machine reach it, other',
      'devices cannot. To let them, give it an address they reach in the suite config, for',
      'service dav, listener secure:',
      "  address: 0.0.0.0   (or this machine's own address)",
      'and run hearth reload.',
      '',
      'Log in as alice with your Hearth password. The server\'s certificate is self-signed:',
    ]);
    // Reachable from other machines: no note.
    expect(connectHelp(https)).not.toContain('only: programs on this machine reach it');
  });

  it('on the embedded default config: a config file to run the suite on', () => {
    const text = connectHelp({ ...https, loopbackOnly: loopback, embeddedConfig: true });
    expect(text).toContain(
      'Its HTTPS listener is on 127.0.0.1 only: programs on this machine reach it, other\n' +
        'devices cannot. To let them, run the suite on a config file that gives it an address\n' +
        'they reach (docker/hearth.yaml lists every service of the default), for service\n' +
        'dav, listener secure:\n' +
        "  address: 0.0.0.0   (or this machine's own address)\n" +
        'then run hearth down and hearth up --config FILE as you ran hearth up.\n\nLog in as alice',
    );
  });

  it('is one on 127.x.y.z or ::1 in any spelling, not one on a wildcard or another address', () => {
    expect(loopbackListener('dav', { name: 'secure', address: '127.0.0.2' })).toEqual({ service: 'dav', listener: 'secure', address: '127.0.0.2' });
    expect(loopbackListener('dav', { name: 'web', address: '0:0:0:0:0:0:0:1' })).toEqual({ service: 'dav', listener: 'web', address: '0:0:0:0:0:0:0:1' });
    for (const address of ['0.0.0.0', '::', '192.168.1.10', 'fd00::1']) expect(loopbackListener('dav', { name: 'web', address }), address).toBeUndefined();
  });

  it('over plain HTTP: the same note, for its listener', () => {
    const text = plainHttpConnectHelp({ user: 'alice', service: 'dav', host: '::1', port: 2080, loopbackOnly: { ...loopback, listener: 'web', address: '::1' }, allowPlaintextAuth: false });
    expect(text).toContain(
      'The file service has no HTTPS listener: these are its plain HTTP URLs.\n' +
        'Its plain HTTP listener is on ::1 only: programs on this machine reach it, other\n' +
        'devices cannot. To let them, give it an address they reach in the suite config, for\n' +
        'service dav, listener web:\n' +
        "  address: 0.0.0.0   (or this machine's own address)\n" +
        'and run hearth reload.\n\nmacOS (Finder)',
    );
  });
});
