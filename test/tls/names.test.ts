/**
 * The suite's self-signed certificate names the hosts of `tls.names` for every service: curl,
 * trusting DATA/tls/self-signed/cert.pem, reaches the file service at an IP address and a host
 * name of that list, and is refused at an address that is not in it. Every TLS listener of the
 * suite presents that one certificate. A reload that adds a name replaces the certificate, once,
 * with a warning in the log, and every listener presents the new one from the same processes.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, runProgram, type TempDir } from '@hearth/testkit';
import { logged, startUp, stopAll, waitState, type Up } from '@hearth/testkit/hearth-up';

const SERVICES = ['files', 'admin', 'pop3', 'smtp'] as const;
const REPLACED = "replaced the suite's self-signed certificate, which lacked names the config asks for: devices that trusted the old one must trust the new one (certFile)";

let dir: TempDir;
let up: Up;
let certFile: string;
let httpsPort: number;

const config = (names: string): string => {
  const tls = (name: string, address = '127.0.0.1'): string => `${name}: { address: ${address}, port: 0, tls: true }`;
  return `tls:
  names: [${names}]
services:
  files:
    service: files
    listen: { ${tls('https', '127.0.0.2')} }
  admin:
    service: admin
    listen: { ${tls('https')} }
  pop3:
    service: pop3
    listen: { ${tls('pop3s')} }
  smtp:
    service: smtp
    listen: { ${tls('smtps')}, submission: { address: 127.0.0.1, port: 0 } }
`;
};

/** curl of `url` trusting `caFile`, with extra options; its exit code, status and stderr. */
async function curl(url: string, caFile: string, ...options: string[]): Promise<{ code: number | null; status: string; stderr: string }> {
  const r = await runProgram('curl', ['-sS', '--max-time', '20', '--cacert', caFile, ...options, '-o', '/dev/null', '-w', '%{http_code}', url]);
  return { code: r.code, status: r.stdout, stderr: r.stderr };
}

/** The SHA-256 fingerprint of the certificate each implicit-TLS listener presents: `service/listener` → fingerprint. */
async function everyPresented(): Promise<Record<string, string>> {
  const seen: Record<string, string> = {};
  for (const row of await up.status()) {
    for (const l of row.listeners) {
      if (!l.tls) continue;
      const host = row.name === 'files' ? '127.0.0.2' : '127.0.0.1';
      seen[`${row.name}/${l.name}`] = await new Promise<string>((resolve, reject) => {
        const secure = tlsConnect({ host, port: l.port, rejectUnauthorized: false }, () => {
          resolve(secure.getPeerCertificate().fingerprint256);
          secure.destroy();
        });
        secure.once('error', reject);
      });
    }
  }
  return seen;
}

/** SMTP's submission listener upgraded with STARTTLS: the certificate it presents, checked against `ca` for `servername`. */
async function starttlsVerified(port: number, ca: string, servername: string): Promise<boolean> {
  const socket: Socket = netConnect(port, '127.0.0.1');
  let text = '';
  const until = (line: RegExp): Promise<void> =>
    new Promise((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        text += chunk.toString('latin1');
        if (text.split('\r\n').some((l) => line.test(l))) {
          socket.off('data', onData);
          text = '';
          resolve();
        }
      };
      socket.on('data', onData);
      socket.once('error', reject);
    });
  await until(/^220 /);
  socket.write('EHLO names.test\r\n');
  await until(/^250 /);
  socket.write('STARTTLS\r\n');
  await until(/^220 /);
  return new Promise((resolve) => {
    const secure = tlsConnect({ socket, ca, servername }, () => {
      resolve(secure.authorized);
      secure.destroy();
    });
    secure.once('error', () => resolve(false));
  });
}

const fingerprint = (): string => new X509Certificate(readFileSync(certFile, 'utf8')).fingerprint256;
const all = (fp: string, seen: Record<string, string>): Record<string, string> => Object.fromEntries(Object.keys(seen).map((k) => [k, fp]));

beforeAll(async () => {
  dir = await makeTempDir('hearth-tls-names-');
  up = await startUp(config('127.0.0.2, files.test'), { dir });
  for (const name of SERVICES) await waitState(up, name, 'running', 30_000);
  certFile = join(up.data, 'tls', 'self-signed', 'cert.pem');
  httpsPort = (await up.service('files')).listeners.find((l) => l.name === 'https')!.port;
}, 60_000);

afterAll(stopAll);

describe('tls.names', () => {
  it('lets curl trusting the generated certificate reach the file service at each name of tls.names, and refuses another address for its name', async () => {
    const byIp = await curl(`https://127.0.0.2:${httpsPort}/`, certFile);
    expect(byIp).toMatchObject({ code: 0, status: '401' });
    const byName = await curl(`https://files.test:${httpsPort}/`, certFile, '--resolve', `files.test:${httpsPort}:127.0.0.2`);
    expect(byName).toMatchObject({ code: 0, status: '401' });
    // The same server, asked for as 127.0.0.3: the name does not match (curl's exit 60).
    const other = await curl(`https://127.0.0.3:${httpsPort}/`, certFile, '--connect-to', `127.0.0.3:${httpsPort}:127.0.0.2:${httpsPort}`);
    expect(other.code).toBe(60);
    expect(other.stderr).toMatch(/no alternative certificate subject name matches target (host name|ipv4 address) '127\.0\.0\.3'/);
  });

  it('is one certificate for every service, whichever generated it', async () => {
    const seen = await everyPresented();
    expect(Object.keys(seen).sort()).toEqual(['admin/https', 'files/https', 'pop3/pop3s', 'smtp/smtps']);
    expect(seen).toEqual(all(fingerprint(), seen));
  });

  it('is replaced once at a reload that adds a name, with a warning, and every listener presents the new one from the same processes', async () => {
    const before = fingerprint();
    const oldCa = join(dir.path, 'old-cert.pem');
    writeFileSync(oldCa, readFileSync(certFile));
    const pids = Object.fromEntries((await up.status()).map((s) => [s.name, s.pid]));
    up.writeConfig(config('127.0.0.2, files.test, nas.test'));
    const reloaded = await up.cli('reload');
    expect(reloaded.stderr).toBe('');
    expect(reloaded.stdout.trim()).toBe(`reloaded in place: ${SERVICES.join(', ')}`);
    expect(reloaded.code).toBe(0);

    const after = fingerprint();
    expect(after).not.toBe(before);
    const warnings = logged(up, REPLACED);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ certFile, missing: ['nas.test'] });
    const seen = await everyPresented();
    expect(seen).toEqual(all(after, seen));
    expect(Object.fromEntries((await up.status()).map((s) => [s.name, s.pid]))).toEqual(pids);

    // The new name works with the new certificate; a device that trusts only the old one is refused.
    expect(await curl(`https://nas.test:${httpsPort}/`, certFile, '--resolve', `nas.test:${httpsPort}:127.0.0.2`)).toMatchObject({ code: 0, status: '401' });
    expect((await curl(`https://files.test:${httpsPort}/`, oldCa, '--resolve', `files.test:${httpsPort}:127.0.0.2`)).code).toBe(60);
    const submission = (await up.service('smtp')).listeners.find((l) => l.name === 'submission')!.port;
    expect(await starttlsVerified(submission, readFileSync(certFile, 'utf8'), 'nas.test')).toBe(true);

    // A reload that removes the name keeps the certificate: devices need not trust another.
    up.writeConfig(config('127.0.0.2, files.test'));
    expect((await up.cli('reload')).code).toBe(0);
    expect(fingerprint()).toBe(after);
    expect(logged(up, REPLACED)).toHaveLength(1);
  }, 90_000);
});
